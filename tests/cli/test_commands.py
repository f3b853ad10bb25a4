"""`ilios status`, `get` and `usage`, and what every command says when it cannot do its work."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.conftest import API_KEY
from tests.conftest import REPO, free_port


def live(test):
    """Marks a test that runs a live server and workers on the test database."""
    return pytest.mark.slow(pytest.mark.django_db(transaction=True)(test))


@pytest.fixture
def converted(cli, folder, api_server, workers, tmp_path):
    """A live Ilios and one document the CLI converted into tmp_path/out: (server, record)."""
    server = api_server(API_KEY=API_KEY)
    workers(processes=1, concurrency=1)
    folder({"a.pdf": "pdflatex-4-pages.pdf"})
    assert cli.run("convert", "in", "--out", "out", server=server).returncode == 0
    return server, json.loads((tmp_path / "out/a.pdf.ilios.json").read_text())


@live
def test_status_get_and_usage_answer_for_a_converted_document(cli, converted, tmp_path):
    server, record = converted
    document_id = record["document_id"]

    status = cli.run("status", document_id, server=server)
    printed = cli.run("get", document_id, server=server)
    saved = cli.run("get", document_id, "-o", "copy.md", server=server)
    usage = cli.run("usage", "--start", "2000-01-01", server=server)
    unknown = cli.run("get", "no-such-id", server=server)

    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["status"] == "completed"
    assert json.loads(status.stdout)["metadata"]["extractedPages"] == 4
    markdown = (tmp_path / "out/a.pdf.md").read_text()
    assert printed.returncode == 0 and printed.stdout == markdown
    assert saved.returncode == 0 and (tmp_path / "copy.md").read_text() == markdown
    assert usage.returncode == 0, usage.stderr
    assert "Usage, 2000-01-01 to now" in usage.stdout
    assert [line.split() for line in usage.stdout.splitlines() if "pages" in line] == [
        ["│", "pages", "│", "4", "│"]
    ]
    assert unknown.returncode == 1
    assert "no document no-such-id for this API key" in unknown.stderr


@pytest.mark.parametrize(
    "command",
    [["convert", "in", "--out", "out"], ["status", "x"], ["get", "x"], ["usage"]],
    ids=lambda command: command[0],
)
def test_an_unreachable_server_is_exit_code_3_with_a_clear_message(cli, tmp_path, command):
    (tmp_path / "in").mkdir()
    (tmp_path / "in/a.pdf").write_bytes(b"%PDF-1.4")
    port = free_port()  # nothing listens there

    result = cli.run(*command, "--server", f"http://127.0.0.1:{port}", timeout=60)

    assert result.returncode == 3
    assert f"cannot reach the Ilios server at http://127.0.0.1:{port}" in result.stderr
    assert "Is it running?" in result.stderr
    assert "Traceback" not in result.stderr


def test_two_inputs_bound_for_one_output_are_refused_before_anything_is_sent(cli, tmp_path):
    for side in ("left", "right"):
        (tmp_path / side).mkdir()
        (tmp_path / side / "same.pdf").write_bytes(b"%PDF-1.4")

    result = cli.run("convert", "left", "right", "--out", "out", "--server", "http://127.0.0.1:9")

    assert result.returncode == 2
    assert "left/same.pdf and right/same.pdf would both be written to same.pdf.md" in result.stderr


def test_the_cli_loads_no_django():
    """It must run on a laptop with only httpx2 and rich."""
    check = (
        "import sys, ilios_cli.main\n"
        "loaded = [m for m in sys.modules if m.split('.')[0] in ('django', 'rest_framework')]\n"
        "assert not loaded, loaded"
    )
    subprocess.run([sys.executable, "-c", check], cwd=REPO, check=True, timeout=60)


def test_pip_install_puts_the_ilios_command_on_the_path():
    command = Path(sys.executable).with_name("ilios")

    result = subprocess.run([command, "--help"], capture_output=True, text=True, timeout=60)

    assert result.returncode == 0
    assert "convert" in result.stdout and "exit codes" in result.stdout
