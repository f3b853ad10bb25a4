"""Reads Ilios's configuration from the environment (and `.env`), failing early and by name.

A wrong value must stop start-up with a message naming the variable, not surface later as a
confusing error deep inside a request or a worker.
"""

from __future__ import annotations

import os
import re

from django.core.exceptions import ImproperlyConfigured

_SIZE_UNITS = {
    "": 1,
    "B": 1,
    "KB": 10**3,
    "MB": 10**6,
    "GB": 10**9,
    "KIB": 2**10,
    "MIB": 2**20,
    "GIB": 2**30,
}


def text(name: str, default: str = "") -> str:
    """The variable's value; set but empty (`DATA_DIR=` in a .env) means the default, as unset."""
    return os.environ.get(name, "").strip() or default


def integer(name: str, default: int, minimum: int | None = None, maximum: int | None = None) -> int:
    raw = text(name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, got {raw!r}") from None
    _check_bounds(name, value, minimum, maximum)
    return value


def number(
    name: str, default: float, minimum: float | None = None, maximum: float | None = None
) -> float:
    raw = text(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, got {raw!r}") from None
    _check_bounds(name, value, minimum, maximum)
    return value


def boolean(name: str, default: bool) -> bool:
    raw = text(name).lower()
    if not raw:
        return default
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, got {raw!r}")


def size(name: str, default: int) -> int:
    """A byte size such as `1073741824`, `50MB` or `1GiB`."""
    raw = text(name)
    if not raw:
        return default
    match = re.fullmatch(r"(\d+)\s*([KMG]i?B|B)?", raw, flags=re.IGNORECASE)
    if not match:
        raise ImproperlyConfigured(f"{name} must be a size such as 50MB or 1GiB, got {raw!r}")
    value = int(match.group(1)) * _SIZE_UNITS[(match.group(2) or "").upper()]
    _check_bounds(name, value, 1, None)
    return value


def choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    raw = text(name).lower() or default
    if raw not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)}, got {raw!r}")
    return raw


def _check_bounds(name, value, minimum, maximum) -> None:
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ImproperlyConfigured(f"{name} must be at most {maximum}, got {value}")
