"""Engine lookup: one instance per engine per process, built on first use.

Engines are named, built and priced by one registry, `settings.ENGINES`; this module reads the
names and factories, `usage.billing` the prices.
"""

from __future__ import annotations

import functools

from django.conf import settings
from django.utils.module_loading import import_string

from documents.engines.base import Engine

AUTO = "auto"


class UnknownEngine(ValueError):
    pass


def choices() -> tuple[str, ...]:
    """What a request may ask for: `auto` or any engine of the registry."""
    return (AUTO, *settings.ENGINES)


def resolve(requested: str | None) -> str:
    """The engine a request will use: `auto` is Mistral when a key is configured, else local."""
    name = (requested or settings.OCR_ENGINE or AUTO).lower()
    if name == AUTO:
        return "mistral" if settings.MISTRAL_API_KEY else "local"
    if name not in settings.ENGINES:
        raise UnknownEngine(f"unknown engine {name!r}: use one of {', '.join(choices())}")
    if name == "mistral" and not settings.MISTRAL_API_KEY:
        raise UnknownEngine("the mistral engine is not configured on this server (MISTRAL_API_KEY)")
    return name


def configuration(name: str) -> dict[str, str]:
    """The settings the engine's Markdown depends on (its registry entry's SHAPED_BY), read
    without building the engine: the API process computes cache keys, and building the local
    engine would load its models there."""
    return {
        setting: getattr(settings, setting)
        for setting in settings.ENGINES[name].get("SHAPED_BY", ())
    }


@functools.cache
def get_engine(name: str) -> Engine:
    return import_string(settings.ENGINES[name]["BACKEND"])()


def mistral_from_settings() -> Engine:
    from documents.engines.mistral import MistralEngine

    return MistralEngine(
        api_key=settings.MISTRAL_API_KEY,
        model=settings.MISTRAL_OCR_MODEL,
        server_url=settings.MISTRAL_SERVER_URL,
        timeout_s=settings.MISTRAL_TIMEOUT,
    )
