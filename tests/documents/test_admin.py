"""Document actions in the admin: they go through the queue, report counts, and are safe twice."""

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse

from documents.models import Document
from jobs.models import Job
from tests import states

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:documents_document_changelist")


def run_action(client, action: str, *documents) -> list[str]:
    response = client.post(
        CHANGELIST,
        {"action": action, ACTION_CHECKBOX_NAME: [d.id for d in documents]},
        follow=True,
    )
    assert response.status_code == 200
    return [str(message) for message in response.context["messages"]]


def status_of(document) -> str:
    return Document.objects.values_list("status", flat=True).get(id=document.id)


def test_retry_action_requeues_a_failed_document_with_fresh_attempts(admin_client, make_document):
    failed = states.fail(make_document())
    messages = run_action(admin_client, "retry_failed", failed)
    assert messages == ["Requeued 1 failed document(s)."]
    job = Job.objects.get(document=failed)
    assert (status_of(failed), job.status, job.attempts, job.error) == ("pending", "pending", 0, "")


def test_retry_action_twice_requeues_once_and_says_so(admin_client, make_document):
    failed = states.fail(make_document())
    run_action(admin_client, "retry_failed", failed)
    messages = run_action(admin_client, "retry_failed", failed)
    assert messages == [
        "Requeued 0 failed document(s). 1 selected document(s) had not failed and were left alone."
    ]
    assert Job.objects.get(document=failed).status == "pending"


def test_retry_action_leaves_completed_documents_alone(admin_client, make_document):
    failed = states.fail(make_document())
    done = states.complete(make_document())
    messages = run_action(admin_client, "retry_failed", failed, done)
    assert messages[0].startswith("Requeued 1 failed document(s). 1 selected")
    assert status_of(done) == "completed"


def test_cancel_action_cancels_pending_documents_once(admin_client, make_document):
    pending = make_document()
    assert run_action(admin_client, "cancel_pending", pending) == [
        "Cancelled 1 pending document(s)."
    ]
    assert run_action(admin_client, "cancel_pending", pending)[0].startswith(
        "Cancelled 0 pending document(s). 1 selected document(s) were not pending"
    )
    assert status_of(pending) == "cancelled"
    assert Job.objects.get(document=pending).status == "cancelled"


def test_cancel_action_leaves_a_claimed_document_to_its_worker(admin_client, make_document):
    running = make_document()
    states.claimed(running)
    run_action(admin_client, "cancel_pending", running)
    assert status_of(running) == "processing"


def test_archive_action_archives_finished_documents_once(admin_client, make_document):
    done = states.complete(make_document())
    queued = make_document()
    messages = run_action(admin_client, "archive_now", done, queued)
    assert messages[0].startswith("Archived 1 document(s): content and original deleted. 1 sel")
    archived = Document.objects.get(id=done.id)
    assert (archived.status, archived.content, archived.original) == ("archived", "", "")
    assert status_of(queued) == "pending"
    assert run_action(admin_client, "archive_now", done)[0].startswith("Archived 0 document(s)")


def test_a_document_is_read_only_in_the_admin(admin_client, make_document):
    document = states.complete(make_document())
    url = reverse("admin:documents_document_change", args=[document.id])
    page = admin_client.get(url)
    assert page.status_code == 200
    assert b"page 0" in page.content, "the content preview is shown"
    assert b'name="status"' not in page.content
    admin_client.post(url, {"status": "pending"})
    assert status_of(document) == "completed"
    add = admin_client.get(reverse("admin:documents_document_add"))
    assert add.status_code == 403


def test_a_document_page_links_its_job_and_usage_record(admin_client, make_document):
    document = states.complete(make_document())
    page = admin_client.get(reverse("admin:documents_document_change", args=[document.id]))
    job = Job.objects.get(document=document)
    record = document.usage_records.get()
    assert reverse("admin:jobs_job_change", args=[job.id]).encode() in page.content
    assert reverse("admin:usage_usagerecord_change", args=[record.id]).encode() in page.content


def test_the_document_list_searches_by_file_name_and_filters_by_status(admin_client, make_document):
    states.fail(make_document())
    make_document()
    by_status = admin_client.get(CHANGELIST, {"status__exact": "failed"})
    assert by_status.context["cl"].result_count == 1
    by_name = admin_client.get(CHANGELIST, {"q": "script.pdf"})
    assert by_name.context["cl"].result_count == 2


def test_a_staff_member_without_change_permission_sees_no_actions(client, make_document):
    from django.contrib.auth.models import Permission, User

    viewer = User.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_document"))
    client.force_login(viewer)
    failed = states.fail(make_document())
    page = client.get(CHANGELIST)
    assert page.status_code == 200
    assert b"retry_failed" not in page.content
    client.post(CHANGELIST, {"action": "retry_failed", ACTION_CHECKBOX_NAME: [failed.id]})
    assert status_of(failed) == "failed"
