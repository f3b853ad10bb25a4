"""Test settings: the real settings plus engines the tests drive (see tests/engines.py)."""

import os
from pathlib import Path

os.environ.setdefault("DATA_DIR", str(Path(__file__).resolve().parent.parent / "data" / "test"))

from ilios.settings import *  # noqa: E402,F403
from ilios.settings import ENGINES  # noqa: E402

ENGINES = {**ENGINES, "scripted": "tests.engines.ScriptedEngine"}

# Serve static files straight from the apps in tests: no collectstatic needed.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
