"""`POST /v1/batch/submit` with `useMistralBatch` and `model`: what is refused, and how clearly.

Converting through Mistral's Batch API is in tests/jobs/test_mistral_batches.py.
"""

import pytest

from batches.models import Batch
from documents.models import Document
from jobs.models import Job
from tests.conftest import fixture_upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def mistral_key(settings):
    settings.MISTRAL_API_KEY = "sk-test-mistral-batch-submit"


def submit(api, **fields):
    return api.post(
        "/v1/batch/submit",
        {"files": [fixture_upload("minimal-document.pdf")], **fields},
        format="multipart",
    )


def assert_refused(response, code: str) -> None:
    assert response.status_code == 400, response.json()
    assert response.json()["error"]["code"] == code
    assert not Batch.objects.exists() and not Document.objects.exists()


def test_it_is_refused_for_the_local_engine(api, mistral_key):
    response = submit(api, useMistralBatch="true", engine="local")
    assert_refused(response, "mistral_batch_unavailable")
    assert "'local' engine" in response.json()["error"]["message"]


def test_it_is_refused_when_no_mistral_key_is_configured(api, settings):
    settings.MISTRAL_API_KEY = ""
    response = submit(api, useMistralBatch="true")
    assert_refused(response, "mistral_batch_unavailable")
    assert "MISTRAL_API_KEY" in response.json()["error"]["message"]


@pytest.mark.parametrize("model", ["mistral-small-latest", "../../v1/files", "x" * 100])
def test_a_model_that_is_not_a_mistral_ocr_model_is_refused(api, mistral_key, model):
    assert_refused(submit(api, useMistralBatch="true", model=model), "invalid_model")


def test_a_model_without_use_mistral_batch_is_refused(api, mistral_key):
    assert_refused(submit(api, model="mistral-ocr-latest"), "invalid_model")


def test_it_queues_one_job_for_the_whole_batch_with_the_model_asked_for(api, mistral_key):
    response = api.post(
        "/v1/batch/submit",
        {
            "files": [fixture_upload("minimal-document.pdf"), fixture_upload("hebrew.png")],
            "useMistralBatch": "true",
            "model": "mistral-ocr-2505",
        },
        format="multipart",
    )
    assert response.status_code == 202
    [job] = Job.objects.all()
    assert job.type == Job.Type.MISTRAL_BATCH and job.document is None
    assert job.payload == {"batch": response.json()["batchId"], "model": "mistral-ocr-2505"}
    assert [d["status"] for d in response.json()["documents"]] == ["pending", "pending"]


def test_without_it_every_document_gets_its_own_job(api, mistral_key):
    response = submit(api, useMistralBatch="false")
    assert response.status_code == 202
    assert list(Job.objects.values_list("type", flat=True)) == [Job.Type.CONVERT]
