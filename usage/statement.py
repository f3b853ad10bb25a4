"""The operators' billing statement: usage per API key and day or month over a date range.

Every figure comes from `usage.reports`, the functions behind `/v1/usage/summary`, and dates are
read the same way (a start date from its first moment, an end date to its last, in UTC), so a
key's line here always equals what that key's own summary call answers for the same range.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from ilios.models import ApiKey
from usage import money, reports

PERIODS = ("day", "month")
CSV_HEADER = [
    "period",
    "api_key",
    "api_key_prefix",
    "documents",
    "pages",
    "base_cost_usd",
    "margin_usd",
    "total_cost_usd",
]


@dataclass(frozen=True)
class BillingRange:
    start: date
    end: date
    period: str = "month"

    @property
    def start_moment(self) -> datetime:
        return reports.day_start(self.start)

    @property
    def end_moment(self) -> datetime:
        return reports.day_end(self.end)


def this_month(today: date) -> BillingRange:
    return BillingRange(today.replace(day=1), today)


def _with_dollars(totals: dict) -> dict:
    def usd(cents: Decimal) -> str:
        return money.dollars_amount(cents * money.MICROS_PER_CENT)

    return {
        **totals,
        "baseUsd": usd(totals["baseCostCents"]),
        "marginUsd": usd(totals["marginCostCents"]),
        "totalUsd": usd(totals["totalCostCents"]),
    }


def statement(billing: BillingRange) -> dict:
    """Lines per key and period, each key's totals for the whole range, and the grand total."""
    start, end = billing.start_moment, billing.end_moment
    every_key = reports.records(start=start, end=end, all_keys=True)
    # Keyless usage first in each period, whichever way the database sorts NULL names.
    lines = sorted(
        (_with_dollars(line) for line in reports.per_key(every_key, billing.period)),
        key=lambda line: (line["period"], line["apiKeyId"] is not None, line["apiKeyName"]),
    )
    key_ids = sorted({line["apiKeyId"] for line in lines}, key=lambda k: (k is not None, k))
    keys = ApiKey.objects.in_bulk([key_id for key_id in key_ids if key_id is not None])
    per_key = [
        {
            "key": keys.get(key_id),
            **_with_dollars(reports.summary(reports.records(keys.get(key_id), start, end))),
        }
        for key_id in key_ids
    ]
    return {
        "lines": lines,
        "per_key": per_key,
        "total": _with_dollars(reports.summary(every_key)),
    }


def csv_text(lines: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    for line in lines:
        writer.writerow(
            [
                line["period"],
                line["apiKeyName"],
                line["apiKeyPrefix"],
                line["totalDocuments"],
                line["totalPages"],
                line["baseUsd"],
                line["marginUsd"],
                line["totalUsd"],
            ]
        )
    return out.getvalue()
