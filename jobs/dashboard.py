"""The operators' dashboard figures: queue depth, workers' health, throughput, oldest waiting job.

Plain functions over the queue's tables, so the view stays a template render and the numbers can
be tested without a browser. Throughput is counted by the database per minute or hour, so the
page costs a handful of small queries however many jobs ran.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, Min, Q, Sum
from django.db.models.functions import TruncHour, TruncMinute
from django.utils import timezone

from jobs.models import Job, Worker

# Stopped and dead workers stay listed this long, so a crash is still visible the next morning.
RECENT_WORKERS = timedelta(hours=24)
CHART_WIDTH = 480
CHART_HEIGHT = 90


def heartbeat_age(worker: Worker, now: datetime) -> float:
    return (now - worker.last_heartbeat).total_seconds()


def looks_dead(worker: Worker, now: datetime) -> bool:
    """Declared dead, or silent past WORKER_DEAD_AFTER though no one has declared it yet."""
    if worker.status == Worker.Status.DEAD:
        return True
    silent = heartbeat_age(worker, now) > settings.WORKER_DEAD_AFTER
    return worker.status != Worker.Status.STOPPED and silent


def queue_depth(now: datetime) -> dict[str, int]:
    """Jobs per status; pending is split into ready now and waiting for a retry's backoff."""
    counts = dict(Job.objects.values_list("status").annotate(n=Count("id")).order_by())
    depth = {status: counts.get(status, 0) for status in Job.Status.values}
    depth["pending (backing off)"] = Job.objects.filter(
        status=Job.Status.PENDING, scheduled_at__gt=now
    ).count()
    return depth


def oldest_pending_age(now: datetime) -> float | None:
    """Seconds the longest-waiting pending job has waited since it was submitted."""
    oldest = Job.objects.filter(status=Job.Status.PENDING).aggregate(at=Min("created_at"))["at"]
    return (now - oldest).total_seconds() if oldest else None


@dataclass
class WorkerRow:
    worker: Worker
    heartbeat_age: float
    dead: bool
    running: int


def workers(now: datetime) -> list[WorkerRow]:
    """Workers still running, and those stopped or dead within RECENT_WORKERS."""
    listed = Worker.objects.filter(
        Q(status__in=[Worker.Status.ACTIVE, Worker.Status.STOPPING])
        | Q(last_heartbeat__gte=now - RECENT_WORKERS)
    ).annotate(running=Count("jobs", filter=Q(jobs__status=Job.Status.PROCESSING)))
    return [
        WorkerRow(worker, heartbeat_age(worker, now), looks_dead(worker, now), worker.running)
        for worker in listed.order_by("status", "-last_heartbeat")
    ]


@dataclass
class Bar:
    label: str
    completed: int
    failed: int


def throughput(now: datetime, window: timedelta, bucket: timedelta) -> list[Bar]:
    """Jobs finished (completed or failed) per bucket over the window, oldest bucket first."""
    buckets = int(window / bucket)
    start = _floor(now, bucket) - bucket * (buckets - 1)
    trunc = TruncMinute if bucket < timedelta(hours=1) else TruncHour
    finished = (
        Job.objects.filter(
            status__in=[Job.Status.COMPLETED, Job.Status.FAILED], completed_at__gte=start
        )
        .annotate(at=trunc("completed_at"))
        .values("at", "status")
        .annotate(n=Count("id"))
        .order_by()
    )
    bars = [Bar((start + bucket * i).strftime("%H:%M"), 0, 0) for i in range(buckets)]
    for row in finished:
        index = min(int((row["at"] - start) / bucket), buckets - 1)
        if row["status"] == Job.Status.COMPLETED:
            bars[index].completed += row["n"]
        else:
            bars[index].failed += row["n"]
    return bars


def chart(bars: list[Bar]) -> dict:
    """SVG geometry for stacked bars (completed below, failed on top), drawn server-side."""
    tallest = max((bar.completed + bar.failed for bar in bars), default=0) or 1
    step = CHART_WIDTH / len(bars)
    columns = []
    for i, bar in enumerate(bars):
        completed_height = CHART_HEIGHT * bar.completed / tallest
        failed_height = CHART_HEIGHT * bar.failed / tallest
        columns.append(
            {
                "bar": bar,
                "x": round(i * step + 1, 1),
                "width": round(max(step - 2, 1), 1),
                "completed_y": round(CHART_HEIGHT - completed_height, 1),
                "completed_height": round(completed_height, 1),
                "failed_y": round(CHART_HEIGHT - completed_height - failed_height, 1),
                "failed_height": round(failed_height, 1),
            }
        )
    return {
        "columns": columns,
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
        "completed": sum(bar.completed for bar in bars),
        "failed": sum(bar.failed for bar in bars),
        "first_label": bars[0].label,
        "last_label": bars[-1].label,
    }


def figures() -> dict:
    now = timezone.now()
    return {
        "now": now,
        "depth": queue_depth(now),
        "oldest_pending_age": oldest_pending_age(now),
        "workers": workers(now),
        "dead_after": settings.WORKER_DEAD_AFTER,
        "charts": [
            ("Last hour", chart(throughput(now, timedelta(hours=1), timedelta(minutes=5)))),
            ("Last day", chart(throughput(now, timedelta(days=1), timedelta(hours=1)))),
        ],
    }


def _floor(moment: datetime, bucket: timedelta) -> datetime:
    epoch = datetime(2000, 1, 1, tzinfo=moment.tzinfo)
    return epoch + (moment - epoch) // bucket * bucket


def health() -> dict:
    """The workers' part of `/health`: live workers and the queue's backlog, two counts."""
    alive_since = timezone.now() - timedelta(seconds=settings.WORKER_DEAD_AFTER)
    return {
        "active": Worker.objects.filter(
            status=Worker.Status.ACTIVE, last_heartbeat__gte=alive_since
        ).count(),
        "pendingJobs": Job.objects.filter(status=Job.Status.PENDING).count(),
    }


@dataclass
class QueueState:
    """What `/metrics` reads from the database at each scrape (ilios/health.py)."""

    jobs: dict[tuple[str, str], int]  # (type, status) → open jobs: pending or processing
    oldest_ready: dict[str, float]  # type → seconds the longest-waiting ready job has waited
    live_workers: int
    seats: int
    busy_seats: int


def queue_state(now: datetime) -> QueueState:
    """Four small queries, each on open jobs or live workers only (partial indexes), so a
    scrape costs the same however many jobs have ever run.

    A job's wait is counted from when it became ready (`scheduled_at`), not from its creation:
    a webhook delivery backing off for hours is not a backlog; one due for a minute is.
    """
    open_jobs = (
        Job.objects.filter(status__in=[Job.Status.PENDING, Job.Status.PROCESSING])
        .values_list("type", "status")
        .annotate(n=Count("id"))
        .order_by()
    )
    oldest = (
        Job.objects.filter(status=Job.Status.PENDING, scheduled_at__lte=now)
        .values_list("type")
        .annotate(at=Min("scheduled_at"))
        .order_by()
    )
    live = Worker.objects.filter(
        status=Worker.Status.ACTIVE,
        last_heartbeat__gte=now - timedelta(seconds=settings.WORKER_DEAD_AFTER),
    )
    workers = live.aggregate(n=Count("id"), seats=Sum("concurrency"))
    busy = Job.objects.filter(
        status=Job.Status.PROCESSING, type=Job.Type.CONVERT, worker__in=live
    ).count()
    return QueueState(
        jobs={(job_type, status): n for job_type, status, n in open_jobs},
        oldest_ready={job_type: (now - at).total_seconds() for job_type, at in oldest},
        live_workers=workers["n"],
        seats=workers["seats"] or 0,
        busy_seats=busy,
    )
