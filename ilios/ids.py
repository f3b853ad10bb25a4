"""Opaque, URL-safe, time-sortable identifiers (ULID layout, Crockford base32).

Sorting by id sorts by creation time, which keeps list pagination and index locality cheap
without exposing a counter that tells a client how many documents others have submitted.
"""

import os
import time

from django.urls import register_converter

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"


def new_id() -> str:
    value = (time.time_ns() // 1_000_000) << 80 | int.from_bytes(os.urandom(10), "big")
    chars = []
    for _ in range(26):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


class PathId:
    """The `<id:...>` of a URL: any characters but "/" and NUL. No id holds a NUL (PostgreSQL
    text cannot even store one, and asking it to compare one is an error), so a path with one is
    a 404 from the resolver, before any query."""

    regex = r"[^/\x00]+"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(PathId, "id")
