"""One minimal Django project for every peer queue; PEER picks the queue, PEER_DB the database.

SQLite gets the same tuning as Ilios's embedded default (WAL, synchronous=NORMAL, a busy timeout,
BEGIN IMMEDIATE), so the peers and Ilios run on equal terms.
"""

import os

PEER = os.environ["PEER"]  # tasks | q2 | procrastinate
PEER_DB = os.environ["PEER_DB"]  # a SQLite path, or postgres://user@host:port/name

SECRET_KEY = "bench-only"
DEBUG = False
USE_TZ = True
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "bench.peers.peer_project"]

if PEER_DB.startswith("postgres://"):
    user_host, _, name = PEER_DB[len("postgres://") :].partition("/")
    user, _, host_port = user_host.partition("@")
    host, _, port = host_port.partition(":")
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": name,
            "USER": user,
            "HOST": host,
            "PORT": port or "5432",
            "CONN_MAX_AGE": 60,
        }
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": PEER_DB,
            "OPTIONS": {
                "timeout": 30,
                "transaction_mode": "IMMEDIATE",
                "init_command": (
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=30000;"
                ),
            },
        }
    }

if PEER == "tasks":
    INSTALLED_APPS += ["django_tasks", "django_tasks_db"]
    TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
elif PEER == "q2":
    INSTALLED_APPS += ["django_q"]
    Q_CLUSTER = {
        "name": "bench",
        "workers": int(os.environ.get("PEER_PROCESSES", "1")),
        "orm": "default",
        "timeout": 300,
        "retry": 600,
        "save_limit": 0,  # keep every result: the benchmark counts them
        "catch_up": False,
        "log_level": "WARNING",
    }
elif PEER == "procrastinate":
    INSTALLED_APPS += ["procrastinate.contrib.django"]

LOGGING = {"version": 1, "root": {"level": "WARNING"}}
