"""Django's SQLite backend on SQLCipher: the embedded database encrypted at rest.

Used when DB_ENCRYPTION_KEY is set (`ilios.embedded_database`). Django's backend works as it is
with another DB-API module, here sqlcipher3's (SQLite built with SQLCipher), once that module has
Django's converters and adapters and its own cursor class. The key must be the first statement
on every connection: SQLCipher reads nothing before it. A key that does not open the file, or a
file that is not encrypted, is refused at connection, naming the variable: a wrong key must
neither look like an empty database nor let anything write a new one over the real file.
"""

from __future__ import annotations

import datetime
import decimal
import functools
import hashlib
from collections.abc import Mapping
from itertools import tee
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.db.backends.sqlite3 import base as sqlite
from django.db.backends.sqlite3._functions import register as register_functions
from django.utils.dateparse import parse_date, parse_datetime, parse_time
from sqlcipher3 import dbapi2 as Database

from ilios.db_backends.sqlite3 import base as ilios_sqlite
from ilios.embedded_database import is_plain_sqlite

Database.register_converter("bool", b"1".__eq__)
Database.register_converter("date", sqlite.decoder(parse_date))
Database.register_converter("time", sqlite.decoder(parse_time))
Database.register_converter("datetime", sqlite.decoder(parse_datetime))
Database.register_converter("timestamp", sqlite.decoder(parse_datetime))
Database.register_adapter(decimal.Decimal, str)
Database.register_adapter(datetime.date, sqlite.adapt_date)
Database.register_adapter(datetime.datetime, sqlite.adapt_datetime)


SALT_BYTES = 16  # SQLCipher keeps its random salt in the file's first 16 bytes
KDF_ITERATIONS = 256_000  # SQLCipher 4's default, with PBKDF2-HMAC-SHA512 and 32-byte keys


def pragma_key(key: str) -> str:
    """`PRAGMA key` takes no bound parameters: the key goes in as a quoted SQL string."""
    return "PRAGMA key = '" + key.replace("'", "''") + "'"


@functools.lru_cache(maxsize=8)
def raw_key(passphrase: str, salt: bytes) -> str:
    """The key SQLCipher itself derives from the passphrase and the file's salt.

    SQLCipher runs its key derivation on every connection (0.4 s of CPU here), and each worker
    thread and web thread opens its own: done once per process, the file stays openable with the
    passphrase by any SQLCipher tool.
    """
    derived = hashlib.pbkdf2_hmac("sha512", passphrase.encode(), salt, KDF_ITERATIONS, 32)
    return f"PRAGMA key = \"x'{derived.hex()}'\""


def key_statement(passphrase: str, path: Path) -> str:
    try:
        with path.open("rb") as file:
            salt = file.read(SALT_BYTES)
    except FileNotFoundError:
        salt = b""
    return raw_key(passphrase, salt) if len(salt) == SALT_BYTES else pragma_key(passphrase)


class SQLCipherCursorWrapper(Database.Cursor):
    """Django's SQLiteCursorWrapper (format → qmark placeholders) on sqlcipher3's cursor class."""

    convert_query = sqlite.SQLiteCursorWrapper.convert_query

    def execute(self, query, params=None):
        if params is None:
            return super().execute(query)
        param_names = list(params) if isinstance(params, Mapping) else None
        return super().execute(self.convert_query(query, param_names=param_names), params)

    def executemany(self, query, param_list):
        peekable, param_list = tee(iter(param_list))
        params = next(peekable, None)
        param_names = list(params) if params and isinstance(params, Mapping) else None
        return super().executemany(self.convert_query(query, param_names=param_names), param_list)


class DatabaseWrapper(ilios_sqlite.DatabaseWrapper):
    Database = Database
    display_name = "SQLite (SQLCipher)"

    def get_connection_params(self):
        params = super().get_connection_params()
        self.encryption_key = params.pop("encryption_key")
        return params

    def get_new_connection(self, conn_params):
        path = Path(conn_params["database"])
        if is_plain_sqlite(path):
            raise ImproperlyConfigured(
                f"DB_ENCRYPTION_KEY is set, but {path} is a plain SQLite database: encrypt it "
                "first with `manage.py encrypt_database`, or unset DB_ENCRYPTION_KEY"
            )
        connection = Database.connect(**conn_params)
        connection.execute(key_statement(self.encryption_key, path))
        try:
            connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except Database.DatabaseError:
            connection.close()
            raise ImproperlyConfigured(
                f"DB_ENCRYPTION_KEY does not open {path}: the key is wrong, or the file is "
                "not an Ilios database"
            ) from None
        register_functions(connection)
        connection.execute("PRAGMA foreign_keys = ON")
        connection.execute("PRAGMA legacy_alter_table = OFF")
        for init_command in self.init_commands:
            if init_command := init_command.strip():
                connection.execute(init_command)
        return connection

    def create_cursor(self, name=None):
        return self.connection.cursor(factory=SQLCipherCursorWrapper)
