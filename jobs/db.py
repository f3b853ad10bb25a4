"""Where the queue's two databases differ, each difference behind one small, named helper.

The queue reads as state transitions; what PostgreSQL and SQLite do differently to make those
transitions fast (commit acknowledgement, waking idle workers, planner statistics, writing many
rows at once) lives here, so `queue.py` never asks which database it is talking to. So does
what a long-running process does when the database goes away.
"""

from __future__ import annotations

import contextlib
import threading
import time
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, connection, transaction

NOTIFY_CHANNEL = "ilios_jobs"

# What a query raises when the database cannot be used right now (unreachable, restarting, the
# connection dropped by `pg_terminate_backend`, SQLite's disk full), as opposed to a wrong query.
UNAVAILABLE = (OperationalError, InterfaceError)


def is_postgresql() -> bool:
    return connection.vendor == "postgresql"


def commit_without_waiting_for_disk() -> None:
    """Let PostgreSQL acknowledge this transaction's commit before its WAL reaches the disk.

    For claims and completions, the queue's hot path. If the database server itself crashes
    (a worker crashing changes nothing), the last fraction of a second of them may be lost,
    each whole, never in part: a lost claim leaves the job pending; a lost completion leaves it
    processing until orphan recovery (after JOB_TIMEOUT) runs it again, and since the content,
    the usage record and the job's status commit together the document is still billed exactly
    once. Waiting for fsync (milliseconds per commit) would bound the queue's speed instead.
    SQLite in WAL mode with synchronous=NORMAL, the embedded default, commits this way already.
    Call inside the transaction it applies to.
    """
    if is_postgresql():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


def drop_connection() -> None:
    """Close this thread's connection after a query on it failed; the next query reconnects.

    Django does this between requests. A worker's threads never end a request, so without it a
    connection the database dropped (a restart, `pg_terminate_backend`) would fail every query
    of that thread forever.
    """
    with contextlib.suppress(DatabaseError):
        connection.close()


# --- Waking idle workers ----------------------------------------------------------------------
#
# PostgreSQL delivers a NOTIFY to every listening worker host. SQLite is always on one machine,
# so touching a file in the data directory reaches every worker without a query.


def _signal_file() -> Path:
    return settings.DATA_DIR / "queue.signal"


def notify_on_commit() -> None:
    """Wake idle workers once the current transaction commits (at once outside one).

    Best effort: a wake-up that fails (the database dropped the connection just after the
    commit) is logged, never raised. What it announces is committed; raising would answer a
    client that its submission failed after it was stored, and a retry would store it twice.
    Idle workers poll once a second anyway.
    """
    transaction.on_commit(notify, robust=True)


def notify() -> None:
    if is_postgresql():
        with connection.cursor() as cursor:
            cursor.execute(f"NOTIFY {NOTIFY_CHANNEL}")
    else:
        _signal_file().touch()


_listening = threading.local()  # per claiming thread: the connection it LISTENs on


def listen() -> None:
    if is_postgresql():
        connection.ensure_connection()
        with connection.cursor() as cursor:
            cursor.execute(f"LISTEN {NOTIFY_CHANNEL}")
        _listening.connection = connection.connection


def wake_token() -> int:
    """Taken before a claim, so a notification between the claim and the wait still wakes us."""
    return _mtime(_signal_file())


def wait_for_notification(token: int, timeout: float) -> None:
    """Block until notified (since `token` was taken) or until `timeout` passes."""
    if is_postgresql():
        listening_on = getattr(_listening, "connection", None)
        if connection.connection is None or connection.connection is not listening_on:
            listen()  # a new connection since the database dropped the old one
        with connection.wrap_database_errors:
            pg = connection.connection
            for _ in pg.notifies(timeout=timeout, stop_after=1):
                pass
            for _ in pg.notifies(timeout=0):
                pass
        return
    signal_file = _signal_file()
    deadline = time.monotonic() + timeout
    while _mtime(signal_file) == token and time.monotonic() < deadline:
        time.sleep(0.01)


def _mtime(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except FileNotFoundError:
        return 0


# --- Statistics and bulk writes ---------------------------------------------------------------


def analyze(model) -> None:
    """Refresh the planner's statistics of one table (sampled, so cheap on SQLite too)."""
    table = connection.ops.quote_name(model._meta.db_table)
    with transaction.atomic(), connection.cursor() as cursor:
        if not is_postgresql():
            cursor.execute("PRAGMA analysis_limit = 1000")
        cursor.execute(f"ANALYZE {table}")


def update_each(model, rows: list, fields: list[str]) -> None:
    """UPDATE `fields` of every row (model instances carrying their pk) in one statement.

    Values are prepared by the fields themselves, exactly as `save()` would write them. Unlike
    `QuerySet.bulk_update`, which builds a CASE expression per field and row in Python, this
    sends one `UPDATE ... FROM (VALUES ...)` on PostgreSQL (parsed and planned once for all
    rows) and one prepared statement run for every row on SQLite.
    """
    if not rows:
        return
    meta = model._meta
    columns = [meta.get_field(name) for name in fields]
    quote = connection.ops.quote_name
    table, pk = quote(meta.db_table), quote(meta.pk.column)
    params = [
        [meta.pk.get_db_prep_save(row.pk, connection)]
        + [field.get_db_prep_save(getattr(row, field.attname), connection) for field in columns]
        for row in rows
    ]
    with connection.cursor() as cursor:
        if not is_postgresql():
            assignments = ", ".join(f"{quote(field.column)} = %s" for field in columns)
            sql = f"UPDATE {table} SET {assignments} WHERE {pk} = %s"
            cursor.executemany(sql, [values[1:] + values[:1] for values in params])
            return
        names = ["pk"] + [f"c{i}" for i in range(len(columns))]
        assignments = ", ".join(
            f"{quote(field.column)} = v.c{i}::{field.db_type(connection)}"
            for i, field in enumerate(columns)
        )
        placeholders = ", ".join(["(" + ", ".join(["%s"] * len(names)) + ")"] * len(rows))
        sql = (
            f"UPDATE {table} SET {assignments} FROM (VALUES {placeholders}) "
            f"AS v({', '.join(names)}) WHERE {table}.{pk} = v.pk::{meta.pk.db_type(connection)}"
        )
        cursor.execute(sql, [value for values in params for value in values])
