"""Usage and billing: exact money, per key, per period."""

from datetime import timedelta

import pytest
from django.utils import timezone

from ilios.models import ApiKey, hash_key
from tests.conftest import fixture_upload, with_real_settings
from tests.states import billed

pytestmark = pytest.mark.django_db


def bill(engine="mistral", pages=1, api_key=None, when=None):
    billed(pages, when=when, api_key=api_key, engine=engine)


def test_a_thousand_one_page_conversions_bill_exactly_a_dollar_thirty(api):
    for _ in range(1000):
        bill()
    summary = api.get("/v1/usage/summary").json()
    assert summary["totalPages"] == 1000
    assert summary["totalCostMicros"] == 1_300_000
    assert summary["totalCostCents"] == 130
    assert summary["baseCostCents"] == 100
    assert summary["marginCostCents"] == 30


def test_a_single_page_costs_thirteen_hundredths_of_a_cent(api):
    bill()
    summary = api.get("/api/usage/summary").json()
    assert summary["totalCostCents"] == 0.13
    assert summary["totalDocuments"] == summary["totalOperations"] == 1
    assert (summary["totalInputTokens"], summary["totalOutputTokens"]) == (10, 2)


def test_the_margin_rate_is_configurable(api, settings):
    settings.MARGIN_RATE = 0.5
    bill(pages=10)
    assert api.get("/v1/usage/summary").json()["totalCostMicros"] == 15_000


def test_the_summary_honours_the_date_range(api):
    bill(when=timezone.now() - timedelta(days=40))
    bill(pages=3)
    start = (timezone.now() - timedelta(days=1)).date().isoformat()
    summary = api.get(f"/v1/usage/summary?startDate={start}").json()
    assert summary["totalPages"] == 3


def test_the_breakdown_splits_by_day_and_by_operation_and_engine(api):
    bill(when=timezone.now() - timedelta(days=2))
    bill(engine="local", pages=4)
    breakdown = api.get("/v1/usage/breakdown").json()
    assert [day["totalPages"] for day in breakdown["byDay"]] == [1, 4]
    by_engine = {row["engine"]: row for row in breakdown["byOperation"]}
    assert by_engine["local"]["totalCostMicros"] == 0
    assert by_engine["mistral"]["totalCostMicros"] == 1300


def test_a_keys_usage_does_not_include_anothers(api):
    key_a, raw_a = ApiKey.generate("A")
    key_b, _ = ApiKey.generate("B")
    bill(pages=2, api_key=key_a)
    bill(pages=5, api_key=key_b)
    summary = api.get("/v1/usage/summary", HTTP_AUTHORIZATION=f"Bearer {raw_a}").json()
    assert summary["totalPages"] == 2


def test_an_invalid_date_is_a_400(api):
    response = api.get("/v1/usage/summary?startDate=yesterday")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_date"


def test_a_converted_document_is_billed_to_its_key(api):
    key, raw = ApiKey.generate("A")
    api.post(
        "/v1/convert",
        {"file": fixture_upload("pdflatex-4-pages.pdf")},
        format="multipart",
        HTTP_AUTHORIZATION=f"Bearer {raw}",
    )
    summary = api.get("/v1/usage/summary", HTTP_AUTHORIZATION=f"Bearer {raw}").json()
    assert summary["totalPages"] == 4
    assert ApiKey.objects.get(key_hash=hash_key(raw)).id == key.id


def test_local_conversions_are_billed_at_local_price_per_page(api, settings, tmp_path):
    shown = with_real_settings(
        "-c",
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.ENGINES['local']['PRICE_PER_PAGE'])",
        DATA_DIR=tmp_path,
        LOCAL_PRICE_PER_PAGE="0.002",
    )
    assert shown.stdout.strip() == "0.002", shown.stderr
    settings.ENGINES = {
        **settings.ENGINES,
        "local": {**settings.ENGINES["local"], "PRICE_PER_PAGE": float(shown.stdout)},
    }
    converted = api.post(
        "/v1/convert",
        {"file": fixture_upload("pdflatex-4-pages.pdf"), "engine": "local", "format": "json"},
        format="multipart",
    )
    assert converted.status_code == 200, converted.content[:300]
    summary = api.get("/v1/usage/summary").json()
    assert summary["totalPages"] == 4
    assert summary["totalCostMicros"] == 4 * 2000 * 13 // 10  # $0.002 a page, 30 % margin
