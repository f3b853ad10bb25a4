"""The original's database settings. DB_ENCRYPTION_KEY: the embedded SQLite database encrypted at
rest with SQLCipher, opened with the key by every process (API, workers, commands), refused by
name when the key is wrong or missing; `manage.py encrypt_database` converts a plain database and
back. DB_WAL_MODE=false: a rollback journal. A Turso embedded replica: refused by name."""

from __future__ import annotations

import hashlib
import os
import signal
import sqlite3
import subprocess
import sys

import pytest
from sqlcipher3 import dbapi2 as sqlcipher

from tests.conftest import FIXTURES, REPO, wait_until

KEY = "correct horse battery staple"
SUBMIT = """
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
pdf = open({pdf!r}, "rb").read()
answer = Client().post("/v1/documents", {{"file": SimpleUploadedFile("doc.pdf", pdf)}})
print(answer.json()["id"])
"""


@pytest.fixture
def home(tmp_path):
    return tmp_path


@pytest.fixture(scope="module")
def encrypted_home(tmp_path_factory):
    """A migrated encrypted database, for the tests that only try to open it."""
    home = tmp_path_factory.mktemp("encrypted")
    assert manage(home, "migrate", DB_ENCRYPTION_KEY=KEY).returncode == 0
    return home


def environment(home, **settings) -> dict:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATA_DIR": str(home),
        "LOCAL_DB_PATH": str(home / "ilios.db"),
        "DATABASE_URL": "",
        "OCR_ENGINE": "local",
        **settings,
    }


def manage(home, *args, **settings) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env=environment(home, **settings),
        capture_output=True,
        text=True,
        timeout=120,
    )


def read_encrypted(home, sql: str, key: str | None = KEY) -> list:
    connection = sqlcipher.connect(str(home / "ilios.db"))
    try:
        if key:
            connection.execute(f"PRAGMA key = '{key}'")
        return connection.execute(sql).fetchall()
    finally:
        connection.close()


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_file_on_disk_is_not_readable_as_plain_sqlite(encrypted_home):
    home = encrypted_home
    database = home / "ilios.db"
    assert not database.read_bytes().startswith(b"SQLite format 3")
    with pytest.raises(sqlite3.DatabaseError, match="file is not a database"):
        sqlite3.connect(database).execute("SELECT * FROM sqlite_master").fetchall()
    assert read_encrypted(home, "SELECT count(*) FROM django_migrations")[0][0] > 0


@pytest.mark.slow
@pytest.mark.parametrize(
    "settings",
    [{"DB_ENCRYPTION_KEY": KEY}, {"DB_WAL_MODE": "false"}],
    ids=["encrypted", "rollback-journal"],
)
def test_the_api_the_workers_and_the_commands_all_work_on_it(home, settings):
    key = settings.get("DB_ENCRYPTION_KEY")
    assert manage(home, "migrate", **settings).returncode == 0
    submitted = manage(
        home, "shell", "-c", SUBMIT.format(pdf=str(FIXTURES / "minimal-document.pdf")), **settings
    )
    document_id = submitted.stdout.strip().splitlines()[-1]
    workers = subprocess.Popen(
        [sys.executable, "manage.py", "runworkers", "--processes=2"],
        cwd=REPO,
        env=environment(home, **settings),
        start_new_session=True,
    )
    try:
        wait_until(
            lambda: (
                read_encrypted(
                    home, f"SELECT status FROM documents_document WHERE id = '{document_id}'", key
                )
                == [("completed",)]
            ),
            timeout=60,
        )
    finally:
        workers.send_signal(signal.SIGTERM)
        workers.wait(30)
    created = manage(home, "create_api_key", "team", **settings)

    assert created.returncode == 0
    assert read_encrypted(home, "SELECT count(*) FROM ilios_apikey", key) == [(1,)]
    journal = read_encrypted(home, "PRAGMA journal_mode", key)[0][0]
    assert journal == ("delete" if settings.get("DB_WAL_MODE") else "wal")
    assert (home / "ilios.db").read_bytes().startswith(b"SQLite format 3") == (key is None)


@pytest.mark.parametrize(
    "command",
    [["migrate"], ["runworkers", "--processes=1"], ["shell", "-c", "import ilios.wsgi"]],
    ids=["migrate", "runworkers", "api"],
)
def test_a_wrong_key_stops_start_up_naming_the_variable_and_changes_nothing(
    encrypted_home, command
):
    home = encrypted_home
    before = digest(home / "ilios.db")

    started = manage(home, *command, DB_ENCRYPTION_KEY="not the key")

    assert started.returncode != 0
    assert "DB_ENCRYPTION_KEY does not open" in started.stderr
    assert digest(home / "ilios.db") == before


def test_a_missing_key_stops_start_up_naming_the_variable(encrypted_home):
    home = encrypted_home
    before = digest(home / "ilios.db")

    started = manage(home, "migrate")

    assert started.returncode != 0
    assert "set DB_ENCRYPTION_KEY to its key" in started.stderr
    assert digest(home / "ilios.db") == before


def test_a_key_for_a_plain_database_asks_for_it_to_be_encrypted_first(home):
    assert manage(home, "migrate").returncode == 0

    started = manage(home, "migrate", DB_ENCRYPTION_KEY=KEY)

    assert started.returncode != 0
    assert "encrypt it first with `manage.py encrypt_database`" in started.stderr


def test_encrypt_database_turns_a_plain_database_encrypted_and_back(home):
    assert manage(home, "migrate").returncode == 0
    assert manage(home, "create_api_key", "kept").returncode == 0

    encrypted = manage(home, "encrypt_database", DB_ENCRYPTION_KEY=KEY)

    assert encrypted.returncode == 0, encrypted.stderr
    assert not (home / "ilios.db").read_bytes().startswith(b"SQLite format 3")
    assert read_encrypted(home, "SELECT name FROM ilios_apikey") == [("kept",)]
    assert manage(home, "create_api_key", "more", DB_ENCRYPTION_KEY=KEY).returncode == 0

    decrypted = manage(home, "encrypt_database", "--decrypt", DB_ENCRYPTION_KEY=KEY)

    assert decrypted.returncode == 0, decrypted.stderr
    names = sqlite3.connect(home / "ilios.db").execute("SELECT name FROM ilios_apikey")
    assert sorted(name for (name,) in names) == ["kept", "more"]


def test_encrypt_database_refuses_while_the_database_is_open(home):
    assert manage(home, "migrate").returncode == 0
    other = sqlite3.connect(home / "ilios.db")
    other.execute("SELECT count(*) FROM django_migrations").fetchone()

    converted = manage(home, "encrypt_database", DB_ENCRYPTION_KEY=KEY)

    assert converted.returncode != 0
    assert "is in use" in converted.stderr
    assert (home / "ilios.db").read_bytes().startswith(b"SQLite format 3")


def test_an_embedded_replica_is_refused_naming_the_supported_way(home):
    started = manage(home, "check", USE_EMBEDDED_REPLICA="true")

    assert started.returncode != 0
    assert "USE_EMBEDDED_REPLICA" in started.stderr
    assert "DATABASE_URL=postgres://" in started.stderr


def test_turso_credentials_alone_are_refused_since_the_original_synced_with_them(home):
    started = manage(home, "check", TURSO_DATABASE_URL="libsql://x.turso.io", TURSO_AUTH_TOKEN="t")

    assert started.returncode != 0
    assert "is not supported" in started.stderr


def test_turso_settings_beside_use_embedded_replica_false_are_ignored_as_by_the_original(home):
    started = manage(
        home,
        "check",
        USE_EMBEDDED_REPLICA="false",
        TURSO_DATABASE_URL="libsql://your-database.turso.io",
        TURSO_AUTH_TOKEN="your-turso-auth-token",
        TURSO_SYNC_INTERVAL="60",
    )

    assert started.returncode == 0, started.stderr


@pytest.mark.parametrize(
    "settings", [{"DB_ENCRYPTION_KEY": KEY}, {"DB_WAL_MODE": "false"}], ids=["key", "journal"]
)
def test_embedded_database_settings_beside_database_url_are_refused(home, settings):
    started = manage(home, "check", DATABASE_URL="postgres://postgres@127.0.0.1/x", **settings)

    assert started.returncode != 0
    assert "apply to the embedded SQLite database, not to DATABASE_URL" in started.stderr
