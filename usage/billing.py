"""Prices and usage records: what a charge costs, and the one row that bills it.

Callers describe what happened as plain `Charge`s (which document, whose key, which engine, how
many pages, which operation); this module alone knows prices. Each engine's price per page comes
from the engine registry (`settings.ENGINES`), the same entry that names the engine, so an engine
cannot exist without a price. Money is integer micro-dollars and Decimal arithmetic throughout.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from usage.models import UsageRecord
from usage.money import MICROS_PER_DOLLAR

Operation = UsageRecord.Operation


@dataclass(frozen=True)
class Charge:
    document_id: str
    api_key_id: int | None
    engine: str
    pages: int
    operation: Operation
    input_tokens: int = 0
    output_tokens: int = 0


# The entry of an engine's registry entry that prices each operation; the others' PRICE_PER_PAGE.
PRICE_SETTING = {Operation.MISTRAL_BATCH: "BATCH_PRICE_PER_PAGE"}


def price_per_page(engine: str, operation: Operation = Operation.CONVERT) -> Decimal:
    """The engine's base price per page in dollars for this operation, from its entry in the
    engine registry (a page through Mistral's Batch API has a price of its own)."""
    name = PRICE_SETTING.get(operation, "PRICE_PER_PAGE")
    try:
        configured = settings.ENGINES[engine][name]
    except KeyError:
        raise ImproperlyConfigured(f"engine {engine!r} has no {name} in settings.ENGINES") from None
    return Decimal(str(configured))


def margin_rate() -> Decimal:
    return Decimal(str(settings.MARGIN_RATE))


def costs(
    engine: str, pages: int, operation: Operation = Operation.CONVERT
) -> tuple[int, Decimal, int]:
    """(base, margin rate, total) for `pages` pages, in micro-dollars, rounded half up."""
    rate = margin_rate()
    base = Decimal(pages) * price_per_page(engine, operation) * MICROS_PER_DOLLAR
    total = base * (1 + rate)
    return _whole(base), rate, _whole(total)


def record(charges: list[Charge], now) -> None:
    """Bill every charge in one insert; call inside the transaction that records the outcome."""
    UsageRecord.objects.bulk_create([_usage_record(charge, now) for charge in charges])


def _usage_record(charge: Charge, now) -> UsageRecord:
    if charge.operation == Operation.CACHED:  # no engine ran: the pages are counted, not charged
        base, rate, total = 0, margin_rate(), 0
    else:
        base, rate, total = costs(charge.engine, charge.pages, charge.operation)
    return UsageRecord(
        document_id=charge.document_id,
        api_key_id=charge.api_key_id,
        operation=charge.operation,
        engine=charge.engine,
        pages=charge.pages,
        input_tokens=charge.input_tokens,
        output_tokens=charge.output_tokens,
        base_cost_micros=base,
        margin_rate=rate,
        total_cost_micros=total,
        created_at=now,
    )


def _whole(micros: Decimal) -> int:
    return int(micros.quantize(Decimal(1), rounding=ROUND_HALF_UP))
