"""Real outages of the test's own PostgreSQL database, never of the shared server (other runs
use it at the same time): its connections are terminated with `pg_terminate_backend`, and for
an outage that lasts, new connections are refused meanwhile (`ALLOW_CONNECTIONS false`)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import psycopg
import pytest
from django.conf import settings
from django.db import connection

requires_postgresql = pytest.mark.skipif(
    not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"),
    reason="terminates PostgreSQL connections (pg_terminate_backend): runs in the PostgreSQL pass",
)


def _admin() -> psycopg.Connection:
    """A connection to the server's maintenance database, which the outage does not touch."""
    db = connection.settings_dict
    return psycopg.connect(
        host=db["HOST"] or "127.0.0.1",
        port=db["PORT"] or 5432,
        user=db["USER"],
        dbname="postgres",
        autocommit=True,
    )


def terminate_connections() -> int:
    """Terminate every other connection to the test database, this process's own included but
    left open as the database left it (its next query fails); returns how many."""
    with _admin() as admin:
        return admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = %s",
            [connection.settings_dict["NAME"]],
        ).fetchone()[0]


def drop_connections() -> int:
    """Terminate every connection to the test database (this process's own included, which is
    then closed so that its next query reconnects); returns how many."""
    dropped = terminate_connections()
    connection.close()
    return dropped


@contextlib.contextmanager
def database_down() -> Iterator[None]:
    """The test database refuses every connection until the block ends."""
    name = psycopg.sql.Identifier(connection.settings_dict["NAME"])
    with _admin() as admin:
        admin.execute(psycopg.sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS false").format(name))
        try:
            drop_connections()
            yield
        finally:
            admin.execute(psycopg.sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS true").format(name))
