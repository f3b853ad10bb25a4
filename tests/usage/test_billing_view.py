"""The admin billing view: per key and period, its totals equal /v1/usage/summary's."""

import csv
import io
from datetime import UTC, datetime

import pytest
from django.urls import reverse

from ilios.models import ApiKey
from tests.states import billed
from usage import reports

pytestmark = pytest.mark.django_db

BILLING = reverse("ilios-billing")
MARCH = {"start": "2026-03-01", "end": "2026-03-31"}


def bill(when: datetime, pages: int, api_key=None, engine="mistral"):
    billed(pages, when=when, api_key=api_key, engine=engine)


def at(day: int, month: int = 3, hour: int = 12) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


@pytest.fixture
def keys():
    """Two keys with usage in and around March 2026, plus keyless usage."""
    (team_a, raw_a), (team_b, raw_b) = ApiKey.generate("team A"), ApiKey.generate("team B")
    bill(at(1, hour=0), 3, team_a)
    bill(at(1), 1, team_a)
    bill(at(31, hour=23), 7, team_a)
    bill(at(2), 2, team_b)
    bill(at(15), 5, team_b, engine="local")
    bill(at(10), 4)
    bill(at(28, month=2), 100, team_a)
    bill(at(1, month=4, hour=0), 100, team_b)
    return {"team A": (team_a, raw_a), "team B": (team_b, raw_b)}


def summary_api(api, raw_key: str, start: str, end: str) -> dict:
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    response = api.get("/v1/usage/summary", {"startDate": start, "endDate": end})
    assert response.status_code == 200
    return response.json()


def test_each_keys_totals_equal_its_usage_summary_for_the_same_range(admin_client, api, keys):
    page = admin_client.get(BILLING, {**MARCH, "period": "month"})
    by_name = {row["key"].name: row for row in page.context["per_key"] if row["key"]}
    for name, (_, raw_key) in keys.items():
        from_api = summary_api(api, raw_key, MARCH["start"], MARCH["end"])
        shown = by_name[name]
        assert shown["totalCostMicros"] == from_api["totalCostMicros"]
        assert shown["totalPages"] == from_api["totalPages"]
        assert shown["totalDocuments"] == from_api["totalDocuments"]
        assert float(shown["baseCostCents"]) == from_api["baseCostCents"]
        assert float(shown["marginCostCents"]) == from_api["marginCostCents"]
    assert by_name["team A"]["totalPages"] == 11
    assert by_name["team B"]["totalPages"] == 7


def test_the_grand_total_is_the_summary_of_every_key_in_the_range(admin_client, keys):
    page = admin_client.get(BILLING, {**MARCH, "period": "day"})
    start, end = datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 31, 23, 59, 59, 999999, UTC)
    expected = reports.summary(reports.records(start=start, end=end, all_keys=True))
    total = page.context["total"]
    assert {k: total[k] for k in expected} == expected
    assert total["totalPages"] == 22
    assert (
        sum(line["totalCostMicros"] for line in page.context["lines"])
        == (expected["totalCostMicros"])
    )


def test_lines_split_by_key_and_month(admin_client, keys):
    page = admin_client.get(BILLING, {"start": "2026-02-01", "end": "2026-04-30"})
    lines = [(ln["period"], ln["apiKeyName"], ln["totalPages"]) for ln in page.context["lines"]]
    assert lines == [
        ("2026-02-01", "team A", 100),
        ("2026-03-01", "(no key)", 4),
        ("2026-03-01", "team A", 11),
        ("2026-03-01", "team B", 7),
        ("2026-04-01", "team B", 100),
    ]


def test_lines_split_by_key_and_day(admin_client, keys):
    page = admin_client.get(BILLING, {**MARCH, "period": "day"})
    team_a = [
        (ln["period"], ln["totalPages"])
        for ln in page.context["lines"]
        if ln["apiKeyName"] == "team A"
    ]
    assert team_a == [("2026-03-01", 4), ("2026-03-31", 7)]


def test_money_is_shown_exactly_in_dollars(admin_client, keys, settings):
    page = admin_client.get(BILLING, {"start": "2026-03-31", "end": "2026-03-31"})
    (line,) = page.context["lines"]
    # 7 Mistral pages: $0.007 base, 30 % margin.
    assert (line["baseUsd"], line["marginUsd"], line["totalUsd"]) == (
        "0.007000",
        "0.002100",
        "0.009100",
    )
    assert b"0.009100" in page.content


def test_the_csv_export_has_a_header_and_one_row_per_key_and_period(admin_client, keys):
    response = admin_client.get(BILLING, {**MARCH, "period": "month", "format": "csv"})
    assert response["Content-Type"] == "text/csv"
    assert "ilios-billing-2026-03-01-2026-03-31-month.csv" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == [
        "period",
        "api_key",
        "api_key_prefix",
        "documents",
        "pages",
        "base_cost_usd",
        "margin_usd",
        "total_cost_usd",
    ]
    team_a = keys["team A"][0]
    assert rows[1:] == [
        ["2026-03-01", "(no key)", "", "1", "4", "0.004000", "0.001200", "0.005200"],
        ["2026-03-01", "team A", team_a.prefix, "3", "11", "0.011000", "0.003300", "0.014300"],
        [
            "2026-03-01",
            "team B",
            keys["team B"][0].prefix,
            "2",
            "7",
            "0.002000",
            "0.000600",
            "0.002600",
        ],
    ]


def test_the_page_links_its_csv_export_for_the_range_shown(admin_client, keys):
    page = admin_client.get(BILLING, {**MARCH, "period": "day"})
    assert b"?start=2026-03-01&amp;end=2026-03-31&amp;period=day&amp;format=csv" in page.content


def test_a_start_after_the_end_is_refused_and_this_month_shown(admin_client):
    page = admin_client.get(BILLING, {"start": "2026-03-02", "end": "2026-03-01"})
    assert b"must not be after" in page.content
    assert page.context["range"].start.day == 1


def test_billing_needs_a_login(client):
    assert client.get(BILLING).status_code == 302
