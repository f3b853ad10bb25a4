"""Django's SQLite backend, handing the write lock from thread to thread within a process.

Every transaction here starts with `BEGIN IMMEDIATE` (settings), so the API's and the workers'
threads all queue on the database's one write lock. SQLite's own busy handler sleeps 1, 2, 5,
10, 15, 20, 25 ms and on between its tries, whenever the lock came free meanwhile: a submit
arriving during a worker's 10 ms group commit slept 18 ms. Having every waiting thread try
`BEGIN` again every millisecond instead cost the queue a third of its throughput: the worker
processes' threads woke thousands of times a second, each taking the GIL.

So the threads of one process queue on a Python lock for the database file, taken before
`BEGIN` and given back at commit, rollback or close: the next thread is woken the moment the
lock is released, and waits without costing anything. Only the thread holding it competes with
other processes for SQLite's lock, trying `BEGIN` again after 0.25 ms, then 0.5, then every
millisecond. SQLite's lock stays what guarantees exclusion (and the one lock of writers that
do not come through here); the Python lock only orders this process's writers. Both waits
together end at the connection's timeout (the `timeout` option, 30 s), with SQLite's own
"database is locked".
"""

from __future__ import annotations

import threading
import time

from django.db.backends.sqlite3 import base as sqlite

FIRST_RETRY_SECONDS = 0.00025
LONGEST_RETRY_SECONDS = 0.001

_write_locks: dict[str, threading.Lock] = {}  # this process's, one per database file


def write_lock(database: str) -> threading.Lock:
    return _write_locks.setdefault(database, threading.Lock())


class DatabaseWrapper(sqlite.DatabaseWrapper):
    holding: threading.Lock | None = None  # this process's write lock, from BEGIN to the end

    def get_connection_params(self):
        params = super().get_connection_params()
        self.lock_timeout = params.get("timeout", 5.0)
        return params

    def _start_transaction_under_autocommit(self):
        if self.transaction_mode is None or self.is_in_memory_db():
            return super()._start_transaction_under_autocommit()
        deadline = time.monotonic() + self.lock_timeout
        lock = write_lock(str(self.settings_dict["NAME"]))
        with self.wrap_database_errors:
            if not lock.acquire(timeout=self.lock_timeout):
                raise self.Database.OperationalError("database is locked")
            self.holding = lock
            try:
                self._begin_when_free(f"BEGIN {self.transaction_mode}", deadline)
            except BaseException:
                self._release_write_lock()
                raise

    def _begin_when_free(self, begin: str, deadline: float) -> None:
        raw = self.connection
        raw.execute("PRAGMA busy_timeout = 0")
        try:
            delay = FIRST_RETRY_SECONDS
            while True:
                try:
                    raw.execute(begin)
                    return
                except self.Database.OperationalError as exc:
                    if "locked" not in str(exc) or time.monotonic() >= deadline:
                        raise
                time.sleep(delay)
                delay = min(2 * delay, LONGEST_RETRY_SECONDS)
        finally:
            raw.execute(f"PRAGMA busy_timeout = {round(self.lock_timeout * 1000)}")

    def _release_write_lock(self) -> None:
        if self.holding is not None:
            self.holding, lock = None, self.holding
            lock.release()

    def _commit(self):
        try:
            return super()._commit()
        finally:
            self._release_write_lock()

    def _rollback(self):
        try:
            return super()._rollback()
        finally:
            self._release_write_lock()

    def _close(self):
        try:
            return super()._close()
        finally:
            self._release_write_lock()
