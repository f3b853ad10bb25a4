"""The browser playground: one page that converts a file through the public API, as any client
would, so what it shows is what the API does (the page itself holds no conversion logic)."""

from django.shortcuts import render

from documents import engines
from ilios.auth import keys_required

# Files under this size are converted synchronously (`POST /v1/convert`); larger ones are
# queued (`POST /v1/documents`) and polled, so a big scan never holds a request open for minutes.
SYNC_LIMIT_BYTES = 5 * 2**20


def playground(request):
    return render(
        request,
        "playground.html",
        {
            "engines": engines.choices(),
            "sync_limit_bytes": SYNC_LIMIT_BYTES,
            "keys_required": keys_required(),
        },
    )
