"""gunicorn as `make run` and the Dockerfile start it: threads, since uploads and sync
conversions mostly wait on I/O. Every top-level name here is read as a gunicorn setting, so
helpers are imported under names gunicorn does not know."""

import os
from pathlib import Path

from django.conf import settings as django_settings
from dotenv import load_dotenv

from ilios.config import boolean as env_boolean
from ilios.config import integer as env_integer

if env_boolean("ILIOS_DOTENV", True):  # as in ilios/settings.py
    load_dotenv(Path(__file__).parent / ".env")

# The settings, read once in the master: among them the metrics' directory, which the workers
# it forks must find in their environment before they import prometheus_client (ilios/metrics.py).
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ilios.settings")
django_settings.DATA_DIR  # noqa: B018  (reading one loads them all)

bind = f"0.0.0.0:{env_integer('PORT', 1337, minimum=1, maximum=65535)}"
workers = env_integer("WEB_CONCURRENCY", 2, minimum=1)
worker_class = "gthread"
threads = env_integer("WEB_THREADS", 8, minimum=1)
timeout = 600
graceful_timeout = 30
accesslog = "-"
# The path without its query string: the legacy `?apiKey=` must never reach a log in clear.
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms "%(a)s"'
wsgi_app = "ilios.wsgi:application"


def on_starting(server):
    from ilios import metrics

    metrics.forget_dead_processes()


def child_exit(server, worker):
    from ilios import metrics

    metrics.forget(worker.pid)
