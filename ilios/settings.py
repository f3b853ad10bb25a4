"""Django settings, all read from the environment (docs/design.md, Configuration) through
`ilios.config`."""

from __future__ import annotations

import base64
import contextlib
import functools
import os
import re
import secrets
import tempfile
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.functional import lazy
from dotenv import load_dotenv

from ilios import config, embedded_database

BASE_DIR = Path(__file__).resolve().parent.parent
if config.boolean("ILIOS_DOTENV", True):  # off under tests: no developer's .env leaks in
    load_dotenv(BASE_DIR / ".env")

DATA_DIR = Path(config.text("DATA_DIR", "./data")).resolve()
UPLOAD_TEMP_DIR = DATA_DIR / "tmp"
UPLOAD_TEMP_DIR.mkdir(parents=True, exist_ok=True)
# Prometheus metrics, per process, added up by a scrape (ilios/metrics.py). Not a setting: set
# here, before anything imports prometheus_client (which picks its multi-process mode on import),
# for this process and those it starts (gunicorn's master reads these settings first).
METRICS_DIR = DATA_DIR / "metrics"
METRICS_DIR.mkdir(parents=True, exist_ok=True)
os.environ.update(PROMETHEUS_MULTIPROC_DIR=str(METRICS_DIR))
# `GET /metrics` wants `Authorization: Bearer <METRICS_TOKEN>` when set; open when not.
METRICS_TOKEN = config.text("METRICS_TOKEN")


@functools.cache
def _generated_secret_key() -> str:
    """A secret key generated on first use and kept in the data directory.

    The embedded default must start with no configuration at all, yet sessions, sealed
    passwords and API-key hashes must survive restarts and be shared by the API and the workers
    on one machine. The key is made when something first needs it, never on import: importing
    the settings (as `collectstatic` does while a Docker image is built) creates nothing, so no
    image carries a key that every container made from it would share. When several processes
    start at once, the first link wins and the others read its key.
    """
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        with tempfile.NamedTemporaryFile("w", dir=DATA_DIR, prefix=".secret_key-") as candidate:
            candidate.write(secrets.token_urlsafe(50))  # mode 0600, as mkstemp creates it
            candidate.flush()
            with contextlib.suppress(FileExistsError):
                os.link(candidate.name, key_file)
    return key_file.read_text().strip()


SECRET_KEY = config.text("SECRET_KEY") or lazy(_generated_secret_key, str)()
DEBUG = config.boolean("DEBUG", False)
ALLOWED_HOSTS = [h.strip() for h in config.text("ALLOWED_HOSTS", "*").split(",") if h.strip()]
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in config.text("CSRF_TRUSTED_ORIGINS").split(",") if o.strip()
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "ilios",
    "documents",
    "batches",
    "usage",
    "jobs",
]

MIDDLEWARE = [
    "ilios.metrics.RequestMetrics",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "ilios.urls"
WSGI_APPLICATION = "ilios.wsgi.application"
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database: SQLite in WAL mode by default, PostgreSQL when DATABASE_URL is set -------------
DATABASE_URL = config.text("DATABASE_URL")
if DATABASE_URL:
    try:
        DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
    except Exception as exc:
        raise ImproperlyConfigured(f"DATABASE_URL is not a valid database URL: {exc}") from None
else:
    LOCAL_DB_PATH = Path(config.text("LOCAL_DB_PATH", str(DATA_DIR / "ilios.db"))).resolve()
    LOCAL_DB_PATH.parent.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "ilios.db_backends.sqlite3",
            "NAME": LOCAL_DB_PATH,
            # Keep each thread's connection between requests, as on PostgreSQL: opening one
            # runs the PRAGMAs below and cost more than the request itself.
            "CONN_MAX_AGE": 60,
            "OPTIONS": {
                # Writers queue on the busy timeout instead of failing (a BEGIN retries every
                # millisecond, ilios/db_backends/sqlite3); IMMEDIATE takes the write
                # lock at BEGIN so a transaction never fails half-way on a lock upgrade.
                "timeout": 30,
                "transaction_mode": "IMMEDIATE",
                "init_command": (
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                    "PRAGMA busy_timeout=30000; PRAGMA foreign_keys=ON;"
                ),
            },
        }
    }

# --- The original service's database settings: honoured, or refused by name ------------------
DB_ENCRYPTION_KEY = config.text("DB_ENCRYPTION_KEY")
DB_WAL_MODE = config.boolean("DB_WAL_MODE", True)
embedded_database.refuse_embedded_replica()
if DATABASE_URL:
    embedded_database.refuse_sqlite_only_settings(DB_ENCRYPTION_KEY, DB_WAL_MODE)
else:
    embedded_database.configure(DATABASES["default"], DB_ENCRYPTION_KEY, DB_WAL_MODE)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Database outages: reconnect, and notice a dead link in seconds ---------------------------
# A connection the database dropped between requests (a restart, `pg_terminate_backend`) is
# replaced before the next request uses it, instead of failing it. On PostgreSQL a host cut off
# from the database learns so within about 30 s (TCP keepalives and tcp_user_timeout) rather
# than waiting on a silent socket for many minutes; options given in DATABASE_URL win.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    DATABASES["default"]["OPTIONS"] = {
        "connect_timeout": 10,
        "keepalives": 1,
        "keepalives_idle": 10,
        "keepalives_interval": 5,
        "keepalives_count": 3,
        "tcp_user_timeout": 30_000,
        **DATABASES["default"].get("OPTIONS", {}),
    }

# --- Storage: local files by default, S3 when S3_BUCKET is set --------------------------------
S3_BUCKET = config.text("S3_BUCKET")
S3_MULTIPART_THRESHOLD = config.size("S3_MULTIPART_THRESHOLD", 50 * 10**6)
# `GET .../original` answers 302 to a presigned URL of the bucket instead of streaming through
# the API (the original service always did). Local storage streams regardless.
S3_ORIGINAL_REDIRECT = config.boolean("S3_ORIGINAL_REDIRECT", False)
# The original service's endpoint when none is set (its users' credentials and buckets are
# Tigris's); AWS itself is `https://s3.<region>.amazonaws.com`. Tigris takes the region `auto`.
TIGRIS_ENDPOINT = "https://fly.storage.tigris.dev"
if S3_BUCKET:
    from boto3.s3.transfer import TransferConfig

    _s3_endpoint = config.text("AWS_ENDPOINT_URL_S3", TIGRIS_ENDPOINT)
    _default_storage = {
        "BACKEND": "documents.s3.DiskBackedS3Storage",
        "OPTIONS": {
            "bucket_name": S3_BUCKET,
            "endpoint_url": _s3_endpoint,
            "access_key": config.text("AWS_ACCESS_KEY_ID") or None,
            "secret_key": config.text("AWS_SECRET_ACCESS_KEY") or None,
            "region_name": config.text(
                "AWS_REGION", "auto" if _s3_endpoint == TIGRIS_ENDPOINT else ""
            )
            or None,
            "file_overwrite": True,
            "default_acl": None,
            "transfer_config": TransferConfig(multipart_threshold=S3_MULTIPART_THRESHOLD),
        },
    }
else:
    _default_storage = {
        "BACKEND": "documents.disk.DurableFileSystemStorage",
        "OPTIONS": {"location": str(DATA_DIR / "files")},
    }
STORAGES = {
    "default": _default_storage,
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]

# --- Uploads: every file streams to disk, never wholly into memory ---------------------------
MAX_UPLOAD_SIZE = config.size("MAX_UPLOAD_SIZE", 2**30)
FILE_UPLOAD_MAX_MEMORY_SIZE = 0
FILE_UPLOAD_TEMP_DIR = str(UPLOAD_TEMP_DIR)
FILE_UPLOAD_HANDLERS = ["documents.uploads.LimitedTemporaryFileUploadHandler"]
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 2**20
DATA_UPLOAD_MAX_NUMBER_FILES = 1000

# --- What one page may cost, whatever its file claims (documents.limits) ---------------------
MAX_IMAGE_PIXELS = config.integer("MAX_IMAGE_PIXELS", 40_000_000, minimum=1)
MAX_RENDER_PIXELS = config.integer("MAX_RENDER_PIXELS", 16_000_000, minimum=10_000)
MAX_PAGE_SIDE = config.number("MAX_PAGE_SIDE", 14_400, minimum=1)
MAX_PAGES = config.integer("MAX_PAGES", 10_000, minimum=1)
# A PDF of more pages is converted in parts of this many pages, each a job of its own that any
# worker may take, stitched in page order (jobs.fanout); 0 converts every document in one piece.
FANOUT_PAGES = config.integer("FANOUT_PAGES", 100, minimum=0, maximum=1000)

# --- Engines and their prices ------------------------------------------------------------------
MISTRAL_API_KEY = config.text("MISTRAL_API_KEY")
MISTRAL_OCR_MODEL = config.text("MISTRAL_OCR_MODEL", "mistral-ocr-latest")
MISTRAL_SERVER_URL = config.text("MISTRAL_SERVER_URL") or None
MISTRAL_TIMEOUT = config.number("MISTRAL_TIMEOUT", 300, minimum=1)
# How long a batch sent to Mistral's Batch API (`useMistralBatch=true`) waits between two looks
# at its Mistral job; the queue re-schedules the job this far ahead (jobs.mistral_batches).
MISTRAL_BATCH_POLL_INTERVAL = config.number("MISTRAL_BATCH_POLL_INTERVAL", 30, minimum=0.01)
MARGIN_RATE = config.number("MARGIN_RATE", 0.30, minimum=0, maximum=100)
# The engine registry: every engine's name, its zero-argument factory and its base price per
# page in dollars, in one place (requests, the engine lookup and billing all read it). Test and
# benchmark settings add their own engines. ONE_PART_PER_PROCESS: the engine converts one page
# at a time in a process whatever its threads (PDFium's lock, the GIL), so a worker process
# takes one part of a document at a time and the others go to other processes (jobs.fanout).
# SHAPED_BY: the settings the engine's Markdown depends on, so that a re-run after one of them
# changed converts again instead of taking the earlier result (documents.cache).
ENGINES = {
    "local": {
        "BACKEND": "documents.engines.local.LocalEngine",
        "PRICE_PER_PAGE": config.number("LOCAL_PRICE_PER_PAGE", 0.0, minimum=0),
        "ONE_PART_PER_PROCESS": True,
        "SHAPED_BY": ("OCR_LANGUAGES",),
    },
    "mistral": {
        "BACKEND": "documents.engines.mistral_from_settings",
        "PRICE_PER_PAGE": config.number("MISTRAL_PRICE_PER_PAGE", 0.001, minimum=0),
        "SHAPED_BY": ("MISTRAL_OCR_MODEL",),
        # A page converted through Mistral's Batch API, which Mistral bills at half price.
        "BATCH_PRICE_PER_PAGE": config.number("MISTRAL_BATCH_PRICE_PER_PAGE", 0.0005, minimum=0),
    },
}
OCR_ENGINE = config.choice("OCR_ENGINE", "auto", ("auto", *ENGINES))
if OCR_ENGINE == "mistral" and not MISTRAL_API_KEY:
    raise ImproperlyConfigured("OCR_ENGINE=mistral needs MISTRAL_API_KEY")

# --- Local engine: the languages its optional second recognizer (Tesseract) reads ------------
# `eng+heb+ell`: Tesseract language packs, tried where the bundled recognizer cannot read a
# script or its letters. Checked when the documents app starts (documents/engines/tesseract.py):
# a malformed value stops start-up naming OCR_LANGUAGES; a missing pack is named in a warning,
# and those pages are then read by the bundled recognizer alone.
OCR_LANGUAGES = config.text("OCR_LANGUAGES", "eng")

# --- Queue and workers ------------------------------------------------------------------------
WORKER_COUNT = config.integer("WORKER_COUNT", 2, minimum=1, maximum=64)
MAX_CONCURRENT_JOBS = config.integer("MAX_CONCURRENT_JOBS", 4, minimum=1, maximum=256)
JOB_TIMEOUT = config.number("JOB_TIMEOUT", 600, minimum=1)
SHUTDOWN_GRACE = config.number("SHUTDOWN_GRACE", 30, minimum=0)
HEARTBEAT_INTERVAL = config.number("HEARTBEAT_INTERVAL", 5, minimum=0.1)
WORKER_DEAD_AFTER = config.number("WORKER_DEAD_AFTER", 30, minimum=1)
MAINTENANCE_INTERVAL = config.number("MAINTENANCE_INTERVAL", 60, minimum=0.1)
# Attempts per job in all, the first included: three, as in the original service.
JOB_MAX_ATTEMPTS = config.integer("JOB_MAX_ATTEMPTS", 3, minimum=1, maximum=100)

# --- Webhooks (jobs.webhooks) ----------------------------------------------------------------
# Signs deliveries for API keys without a secret of their own: whsec_ + base64 of 24-64 bytes,
# the Standard Webhooks form. Unset: only keys with their own secret can use webhooks.
WEBHOOK_SECRET = config.text("WEBHOOK_SECRET")
if WEBHOOK_SECRET:
    try:
        _webhook_key = base64.b64decode(WEBHOOK_SECRET.removeprefix("whsec_"), validate=True)
    except ValueError:
        _webhook_key = b""
    if not WEBHOOK_SECRET.startswith("whsec_") or not 24 <= len(_webhook_key) <= 64:
        raise ImproperlyConfigured(
            "WEBHOOK_SECRET must be whsec_ followed by the base64 of 24 to 64 random bytes"
        )
# Also http, and loopback, link-local and private addresses (tests, private deployments).
WEBHOOK_ALLOW_PRIVATE_NETWORKS = config.boolean("WEBHOOK_ALLOW_PRIVATE_NETWORKS", False)
WEBHOOK_TIMEOUT = config.number("WEBHOOK_TIMEOUT", 10, minimum=0.1, maximum=300)
# Deliveries each worker process sends at once, on seats apart from its conversions'.
WEBHOOK_CONCURRENCY = config.integer("WEBHOOK_CONCURRENCY", 4, minimum=1, maximum=256)

# --- API --------------------------------------------------------------------------------------
API_KEY = config.text("API_KEY")
# A short key can be guessed online: refuse one at start, by position, never echoing it.
API_KEY_MIN_LENGTH = 16
for _number, _key in enumerate((k.strip() for k in API_KEY.split(",") if k.strip()), start=1):
    if len(_key) < API_KEY_MIN_LENGTH:
        raise ImproperlyConfigured(
            f"API_KEY: key #{_number} has {len(_key)} characters; each key needs at least "
            f"{API_KEY_MIN_LENGTH} (make one with: python -c 'import secrets; "
            "print(secrets.token_urlsafe(32))')"
        )
THROTTLE_RATE = config.text("THROTTLE_RATE")  # e.g. 100/minute; empty = no throttling
if THROTTLE_RATE and not re.fullmatch(
    r"\d+/(s|sec|second|m|min|minute|h|hour|d|day)", THROTTLE_RATE
):
    raise ImproperlyConfigured(f"THROTTLE_RATE must look like 100/minute, got {THROTTLE_RATE!r}")

# Shared by every process (throttle counts): the database unless CACHE_URL names Redis.
CACHE_URL = config.text("CACHE_URL")
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}
    if CACHE_URL
    else {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "ilios_cache"}
}
PORT = config.integer("PORT", 1337, minimum=1, maximum=65535)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["ilios.auth.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["ilios.auth.HasApiKeyWhenRequired"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.MultiPartParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.JSONParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_CLASSES": ["ilios.throttling.ApiKeyRateThrottle"],
    "EXCEPTION_HANDLER": "ilios.errors.exception_handler",
    "UNAUTHENTICATED_USER": None,
    # `?format=` selects markdown/json/jsonl/zip in our views, not DRF's renderer.
    "URL_FORMAT_OVERRIDE": None,
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Ilios API",
    "DESCRIPTION": "Turns PDFs, scans and images into Markdown.",
    "VERSION": "3.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # 3.1 for its `webhooks`: the deliveries Ilios sends, documented beside the API.
    "OAS_VERSION": "3.1.0",
    "WEBHOOKS": [
        "jobs.serializers.document_completed_webhook",
        "jobs.serializers.document_failed_webhook",
        "jobs.serializers.batch_completed_webhook",
    ],
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "ilios.openapi.mark_legacy_aliases",
    ],
    "ENUM_NAME_OVERRIDES": {
        "DocumentStatusEnum": "documents.models.Document.Status",
        "BatchStatusEnum": "batches.models.Batch.Status",
    },
    # Swagger UI and ReDoc served from our own static files: no CDN, works offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": config.text("LOG_LEVEL", "INFO").upper()},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
