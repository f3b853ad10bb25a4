"""Tests read only the settings they set: neither a developer's `.env` nor their exported
variables reach the test settings (a MISTRAL_API_KEY would switch `auto` to the network engine).

Each case loads the settings in a fresh interpreter, as a new pytest process would, from a copy
of the settings modules with a `.env` beside it: the real project folder is never written to.
"""

import json
import os
import shutil
import subprocess
import sys

import pytest

from tests.conftest import REPO

DEVELOPER = {
    "MISTRAL_API_KEY": "sk-developer-key",
    "OCR_ENGINE": "mistral",
    "API_KEY": "developer-api-key",
    "MAX_UPLOAD_SIZE": "1MB",
}
SEEN = ("MISTRAL_API_KEY", "OCR_ENGINE", "API_KEY", "MAX_UPLOAD_SIZE")


@pytest.fixture
def project(tmp_path):
    """A copy of what loading the settings reads: ilios/, tests/settings.py, .env.example."""
    shutil.copytree(
        REPO / "ilios", tmp_path / "ilios", ignore=shutil.ignore_patterns("__pycache__")
    )
    (tmp_path / "tests").mkdir()
    for name in ("__init__.py", "settings.py"):
        shutil.copy(REPO / "tests" / name, tmp_path / "tests" / name)
    shutil.copy(REPO / ".env.example", tmp_path)
    return tmp_path


def load(project, module: str, **exported) -> dict:
    """The settings `module` ends up with, in a fresh process started as a developer would."""
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in {"ILIOS_TEST_RUN", "ILIOS_DOTENV", *DEVELOPER}
    }
    env.update(DATA_DIR=str(project / "data"), **exported)
    code = f"import json, {module} as s; print(json.dumps({{n: getattr(s, n) for n in {SEEN}}}))"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=project, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_a_dotenv_in_the_project_does_not_reach_the_test_settings(project):
    (project / ".env").write_text("".join(f"{k}={v}\n" for k, v in DEVELOPER.items()))

    assert load(project, "ilios.settings")["MISTRAL_API_KEY"] == "sk-developer-key"  # it is read
    assert load(project, "tests.settings") == {
        "MISTRAL_API_KEY": "",
        "OCR_ENGINE": "auto",
        "API_KEY": "",
        "MAX_UPLOAD_SIZE": 2**30,
    }


def test_settings_a_developer_exported_do_not_reach_the_test_settings(project):
    assert load(project, "ilios.settings", **DEVELOPER)["OCR_ENGINE"] == "mistral"  # it is read
    assert load(project, "tests.settings", **DEVELOPER) == {
        "MISTRAL_API_KEY": "",
        "OCR_ENGINE": "auto",
        "API_KEY": "",
        "MAX_UPLOAD_SIZE": 2**30,
    }
