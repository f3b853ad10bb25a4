"""gunicorn as `make run` and the Dockerfile start it: threads, since uploads and sync
conversions mostly wait on I/O."""

from pathlib import Path

from dotenv import load_dotenv

from ilios import config

load_dotenv(Path(__file__).parent / ".env")

bind = f"0.0.0.0:{config.integer('PORT', 1337, minimum=1, maximum=65535)}"
workers = config.integer("WEB_CONCURRENCY", 2, minimum=1)
worker_class = "gthread"
threads = config.integer("WEB_THREADS", 8, minimum=1)
timeout = 600
graceful_timeout = 30
accesslog = "-"
wsgi_app = "ilios.wsgi:application"
