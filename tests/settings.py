"""Test settings: the real settings, a data directory and test database of this run's own (so
concurrent runs never share files), and engines the tests drive (see tests/engines.py)."""

import os
from pathlib import Path

RUN_ID = os.environ.setdefault("ILIOS_TEST_RUN", str(os.getpid()))
os.environ.setdefault(
    "DATA_DIR", str(Path(__file__).resolve().parent.parent / "data" / "test" / f"run-{RUN_ID}")
)

from ilios.settings import *  # noqa: E402,F403
from ilios.settings import DATA_DIR, DATABASES, ENGINES  # noqa: E402

ENGINES = {
    **ENGINES,
    "scripted": {"BACKEND": "tests.engines.ScriptedEngine", "PRICE_PER_PAGE": 0.0},
}
API_KEY = ""  # open unless a test configures keys (a developer's .env must not leak in)

# A file, not an in-memory database, so real worker processes can share it.
DATABASES["default"]["TEST"] = (
    {"NAME": str(DATA_DIR / "test.db")}
    if DATABASES["default"]["ENGINE"].endswith("sqlite3")
    else {"NAME": f"test_ilios_{RUN_ID}"}
)

# Serve static files straight from the apps in tests: no collectstatic needed.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
