"""The original service's database settings, each honoured or refused by name.

`DB_ENCRYPTION_KEY` encrypts the embedded SQLite database with SQLCipher; `DB_WAL_MODE=false`
puts it in rollback-journal mode. A Turso embedded replica (`USE_EMBEDDED_REPLICA`, `TURSO_*`)
is refused: Ilios's queue needs every process on a host to write one SQLite file with
`BEGIN IMMEDIATE` under WAL, and a replica's local file takes no writes but its own client's
(docs/migrating.md says what was tried). Several hosts share one database through PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from ilios import config

SQLITE_HEADER = b"SQLite format 3\x00"


def is_plain_sqlite(path: Path) -> bool:
    """An existing, non-empty file that starts as every unencrypted SQLite database does."""
    try:
        with path.open("rb") as file:
            return file.read(len(SQLITE_HEADER)) == SQLITE_HEADER
    except (FileNotFoundError, IsADirectoryError):
        return False


def looks_encrypted(path: Path) -> bool:
    return path.is_file() and path.stat().st_size > 0 and not is_plain_sqlite(path)


def refuse_embedded_replica() -> None:
    """As the original decided: USE_EMBEDDED_REPLICA defaults to true there, and it synced
    whenever TURSO_DATABASE_URL and TURSO_AUTH_TOKEN were both set."""
    replica = config.text("USE_EMBEDDED_REPLICA").lower()
    credentials = config.text("TURSO_DATABASE_URL") and config.text("TURSO_AUTH_TOKEN")
    interval = config.number("TURSO_SYNC_INTERVAL", 60, minimum=1)
    if config.boolean("USE_EMBEDDED_REPLICA", False) or (not replica and credentials):
        raise ImproperlyConfigured(
            "USE_EMBEDDED_REPLICA (a Turso embedded replica, synced every "
            f"TURSO_SYNC_INTERVAL={interval:g} s) is not supported: Ilios's API and workers all "
            "write the one database, and a replica's local file takes writes from one client "
            "only. For several hosts sharing one database set DATABASE_URL=postgres://…; for "
            "one host leave USE_EMBEDDED_REPLICA=false (or unset TURSO_DATABASE_URL) and keep "
            "the local SQLite file. See docs/migrating.md."
        )


def refuse_sqlite_only_settings(encryption_key: str, wal_mode: bool) -> None:
    """With DATABASE_URL the embedded database is not used: its settings would mislead."""
    ignored = ["DB_ENCRYPTION_KEY"] if encryption_key else []
    ignored += [] if wal_mode else ["DB_WAL_MODE=false"]
    if ignored:
        raise ImproperlyConfigured(
            f"{' and '.join(ignored)} apply to the embedded SQLite database, not to DATABASE_URL: "
            "unset them (PostgreSQL's encryption at rest and journaling are the server's)"
        )


def configure(database: dict, encryption_key: str, wal_mode: bool) -> None:
    """Point Django's SQLite settings at SQLCipher with the key, and choose the journal."""
    path = Path(database["NAME"])
    if encryption_key:
        database["ENGINE"] = "ilios.db_backends.sqlcipher"
        database["OPTIONS"]["encryption_key"] = encryption_key
    elif looks_encrypted(path):
        raise ImproperlyConfigured(
            f"{path} is not a plain SQLite database: if it was encrypted, set DB_ENCRYPTION_KEY "
            "to its key (LOCAL_DB_PATH names the file)"
        )
    if not wal_mode:
        # A rollback journal: every commit is synced (NORMAL is only safe with WAL), readers
        # and writers take turns on the busy timeout.
        database["OPTIONS"]["init_command"] = (
            database["OPTIONS"]["init_command"]
            .replace("journal_mode=WAL", "journal_mode=DELETE")
            .replace("synchronous=NORMAL", "synchronous=FULL")
        )


class DatabaseInUse(Exception):
    pass


def convert(path: Path, key: str, *, encrypt: bool) -> None:
    """Rewrite the database at `path` encrypted with `key` (or, decrypting, in plain).

    `sqlcipher_export` copies everything into a new file beside it, which is checked before it
    replaces the old one in one rename: a crash at any point leaves one whole database. The old
    file's WAL is checkpointed into the copy first and its -wal/-shm removed after, so nothing
    else may have the database open: an exclusive lock, taken at once or not at all, makes sure.
    """
    from sqlcipher3 import dbapi2 as sqlcipher

    from ilios.db_backends.sqlcipher.base import pragma_key

    converted = path.with_name(path.name + ".converting")
    converted.unlink(missing_ok=True)
    source = sqlcipher.connect(str(path), timeout=0.1, isolation_level=None)
    try:
        if not encrypt:
            source.execute(pragma_key(key))
        source.execute("PRAGMA main.locking_mode = EXCLUSIVE")  # held until closed
        try:
            source.execute("BEGIN EXCLUSIVE")
            source.execute("COMMIT")
            source.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlcipher.OperationalError as exc:
            raise DatabaseInUse(f"{path} is in use ({exc}): stop the API and workers") from None
        source.execute(
            "ATTACH DATABASE ? AS converted KEY ?", (str(converted), key if encrypt else "")
        )
        source.execute("SELECT sqlcipher_export('converted')")
        source.execute("DETACH DATABASE converted")
        tables = source.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
    finally:
        source.close()
    check = sqlcipher.connect(str(converted))
    try:
        if encrypt:
            check.execute(pragma_key(key))
        copied = check.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        integrity = check.execute("PRAGMA quick_check").fetchone()[0]
    finally:
        check.close()
    if copied != tables or integrity != "ok":
        converted.unlink()
        raise DatabaseInUse(f"the converted copy of {path} did not check out; nothing changed")
    converted.replace(path)
    for suffix in ("-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)
