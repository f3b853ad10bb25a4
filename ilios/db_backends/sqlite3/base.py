"""Django's SQLite backend, waiting for the write lock in steps of a millisecond.

Every transaction here starts with `BEGIN IMMEDIATE` (settings), so the API and all the workers'
threads queue on the one write lock. SQLite's own busy handler sleeps 1, 2, 5, 10, 15, 20, 25 ms
and on between its tries, whenever the lock came free meanwhile: a submit arriving during a
worker's 10 ms group commit slept 18 ms, one arriving during a 20 ms one 33 ms, and the time
the lock stood free between tries was lost to everyone. Here a BEGIN that finds the lock taken
is tried again after 0.25 ms, then 0.5, then every millisecond, until the connection's timeout
(the `timeout` option, 30 s) has passed, when it fails with SQLite's own "database is locked".
"""

from __future__ import annotations

import time

from django.db.backends.sqlite3 import base as sqlite

FIRST_RETRY_SECONDS = 0.00025
LONGEST_RETRY_SECONDS = 0.001


class DatabaseWrapper(sqlite.DatabaseWrapper):
    def get_connection_params(self):
        params = super().get_connection_params()
        self.lock_timeout = params.get("timeout", 5.0)
        return params

    def _start_transaction_under_autocommit(self):
        if self.transaction_mode is None:
            return super()._start_transaction_under_autocommit()
        begin = f"BEGIN {self.transaction_mode}"
        raw = self.connection
        with self.wrap_database_errors:
            self._begin_when_free(raw, begin)

    def _begin_when_free(self, raw, begin: str) -> None:
        raw.execute("PRAGMA busy_timeout = 0")
        try:
            deadline = time.monotonic() + self.lock_timeout
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
