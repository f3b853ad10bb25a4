"""Prometheus metrics: what each process counts, and the text `GET /metrics` answers.

Counters and histograms live in prometheus_client's multi-process mode: every gunicorn worker
and every `runworkers` process writes its own files under DATA_DIR/metrics
(PROMETHEUS_MULTIPROC_DIR, which the settings set before anything imports prometheus_client),
and a scrape adds them up. The files of a process that has ended are kept: its counts are part
of the totals, so a counter never goes backwards when one process is restarted beside others
still running (Prometheus would take the drop for a reset and count a spike). What does go
with a dead process is its share of the live gauges (conversions in progress), removed by
`forget` as prometheus_client documents: when its parent sees it exit, and at start for
processes killed together with their parent.

What the database knows (jobs waiting, live workers, free seats) is added at scrape time by the
caller (`ilios.health`), so every host's scrape tells the same queue.
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Iterable

from django.conf import settings
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

CONVERSIONS = Counter(
    "ilios_conversions",
    "Conversions by engine and outcome: completed, failed (permanent), retried (a transient "
    "engine error), error (an unexpected one), cached (answered from an earlier result).",
    ["engine", "outcome"],
)
PAGES = Counter(
    "ilios_pages",
    "Pages converted, by engine and outcome (completed, cached).",
    ["engine", "outcome"],
)
CONVERSION_SECONDS = Histogram(
    "ilios_conversion_duration_seconds",
    "How long an engine took to convert a document, successful conversions only.",
    ["engine"],
    buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800),
)
ENGINE_ERRORS = Counter(
    "ilios_engine_errors",
    "Engine failures by kind: rate_limit, server, timeout, connection (retried) or permanent.",
    ["engine", "kind"],
)
IN_PROGRESS = Gauge(
    "ilios_conversions_in_progress",
    "Conversions an engine is running now.",
    ["engine"],
    multiprocess_mode="livesum",
)
DELIVERIES = Counter(
    "ilios_webhook_deliveries",
    "Webhook delivery attempts by outcome: delivered, retrying, failed (given up).",
    ["outcome"],
)
HTTP_REQUESTS = Counter(
    "ilios_http_requests",
    "HTTP requests by route (the URL pattern, never the path itself), method and status.",
    ["route", "method", "status"],
)

# The live gauges' files: gauge_livesum_<pid>.db (and the other live modes').
_LIVE_GAUGE_FILE = re.compile(r"gauge_live\w+_(\d+)\.db$")


def converted(engine: str, pages: int, seconds: float) -> None:
    CONVERSIONS.labels(engine, "completed").inc()
    PAGES.labels(engine, "completed").inc(pages)
    CONVERSION_SECONDS.labels(engine).observe(seconds)


def engine_failed(engine: str, kind: str) -> None:
    """A failure the engine reported: `permanent` fails the document, any other kind is retried."""
    ENGINE_ERRORS.labels(engine, kind).inc()
    CONVERSIONS.labels(engine, "failed" if kind == "permanent" else "retried").inc()


def reused_many(documents: list[tuple[str, int]]) -> None:
    """Documents answered from an earlier conversion: (engine, pages) each."""
    for engine, pages in documents:
        CONVERSIONS.labels(engine, "cached").inc()
        PAGES.labels(engine, "cached").inc(pages)


def forget(pid: int) -> None:
    """A process has ended: drop its share of the live gauges."""
    mark_process_dead(pid, str(settings.METRICS_DIR))


def forget_dead_processes() -> None:
    """At a program's start: forget processes that ended without their parent seeing it (the
    whole program was killed), judged by whether their pid still runs on this machine."""
    for path in settings.METRICS_DIR.glob("gauge_live*.db"):
        match = _LIVE_GAUGE_FILE.search(path.name)
        if match and not _running(int(match.group(1))):
            forget(int(match.group(1)))


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # running, as another user
        pass
    return True


class _Collected:
    """Every process's files added up, and the metrics the caller read at scrape time."""

    def __init__(self, extra: Iterable[Metric]):
        self.extra = list(extra)

    def collect(self):
        files = glob.glob(str(settings.METRICS_DIR / "*.db"))
        yield from MultiProcessCollector.merge(files, accumulate=True)
        yield from self.extra


def exposition(extra: Iterable[Metric]) -> bytes:
    """The Prometheus text format of every process's metrics plus `extra`."""
    registry = CollectorRegistry()
    registry.register(_Collected(extra))
    return generate_latest(registry)


class RequestMetrics:
    """Middleware counting requests by route: the URL pattern that matched (`v1/documents/
    <str:document_id>`), so a million document ids make one series, not a million."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        route = f"/{match.route}" if match else "(unmatched)"
        HTTP_REQUESTS.labels(route, request.method, str(response.status_code)).inc()
        return response
