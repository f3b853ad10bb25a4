"""Prices and usage records. Money is integer micro-dollars and Decimal arithmetic throughout."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings

from usage.models import UsageRecord

MICROS_PER_DOLLAR = 1_000_000


def price_per_page(engine: str) -> Decimal:
    """The engine's base price per page in dollars (DESIGN: Mistral $1 per 1000 pages)."""
    configured = {
        "mistral": settings.MISTRAL_PRICE_PER_PAGE,
        "local": settings.LOCAL_PRICE_PER_PAGE,
    }.get(engine, 0)
    return Decimal(str(configured))


def margin_rate() -> Decimal:
    return Decimal(str(settings.MARGIN_RATE))


def costs(engine: str, pages: int) -> tuple[int, Decimal, int]:
    """(base, margin rate, total) for `pages` pages, in micro-dollars, rounded half up."""
    rate = margin_rate()
    base = Decimal(pages) * price_per_page(engine) * MICROS_PER_DOLLAR
    total = base * (1 + rate)
    return _whole(base), rate, _whole(total)


def record_many(finished, operation: str, now) -> None:
    """Bill many (document, result) pairs in one insert; inside the completing transaction."""
    UsageRecord.objects.bulk_create(
        [UsageRecord(**_usage_fields(d, r, operation, now)) for d, r in finished]
    )


def _usage_fields(document, result, operation: str, now) -> dict:
    base, rate, total = costs(document.engine, result.pages_processed)
    return {
        "document_id": document.id,
        "api_key_id": document.api_key_id,
        "operation": operation,
        "engine": document.engine,
        "pages": result.pages_processed,
        "input_tokens": result.input_tokens or 0,
        "output_tokens": result.output_tokens or 0,
        "base_cost_micros": base,
        "margin_rate": rate,
        "total_cost_micros": total,
        "created_at": now,
    }


def _whole(micros: Decimal) -> int:
    return int(micros.quantize(Decimal(1), rounding=ROUND_HALF_UP))
