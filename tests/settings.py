"""Test settings: the real settings, a data directory and test database of this run's own (so
concurrent runs never share files), and engines the tests drive (see tests/engines.py)."""

import os
import re
from pathlib import Path

_REPO = Path(__file__).resolve().parent.parent


def documented_settings() -> set[str]:
    """Every variable Ilios reads: .env.example lists them all (tests/ilios/test_env_example.py)."""
    return set(re.findall(r"^# ([A-Z][A-Z0-9_]*)=", (_REPO / ".env.example").read_text(), re.M))


# Tests read only the settings they set. In the pytest process (the processes it starts inherit
# its marker and get their settings from the test), a developer's exported settings are dropped,
# DATABASE_URL aside: it is how a run picks PostgreSQL. No `.env` is read, here or in any child.
if "ILIOS_TEST_RUN" not in os.environ:
    for name in documented_settings() - {"DATABASE_URL"}:
        os.environ.pop(name, None)
os.environ["ILIOS_DOTENV"] = "false"

RUN_ID = os.environ.get("ILIOS_TEST_RUN") or str(os.getpid())
# Under pytest-xdist each worker is a run of its own: it inherits the controller's run, and gets
# a data directory and test database of its own on top (its child processes inherit the result).
_XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER")
if _XDIST_WORKER and not RUN_ID.endswith(f"-{_XDIST_WORKER}"):
    RUN_ID = f"{RUN_ID}-{_XDIST_WORKER}"
    os.environ.pop("DATA_DIR", None)
os.environ["ILIOS_TEST_RUN"] = RUN_ID
os.environ.setdefault("DATA_DIR", str(_REPO / "data" / "test" / f"run-{RUN_ID}"))

from ilios.settings import *  # noqa: E402,F403
from ilios.settings import DATA_DIR, DATABASES, ENGINES  # noqa: E402

ENGINES = {
    **ENGINES,
    "scripted": {"BACKEND": "tests.engines.ScriptedEngine", "PRICE_PER_PAGE": 0.0},
}

# A file, not an in-memory database, so real worker processes can share it.
DATABASES["default"]["TEST"] = (
    {"NAME": str(DATA_DIR / "test.db")}
    if DATABASES["default"]["ENGINE"].endswith("sqlite3")
    else {"NAME": f"test_ilios_{RUN_ID}"}
)

# Serve static files straight from the apps in tests: no collectstatic needed.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
