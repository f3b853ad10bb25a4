"""`ilios convert` against a live Ilios (gunicorn as `make run` starts it, real `runworkers`):
a folder tree in, a mirrored tree of Markdown out, resumable however it is stopped."""

import hashlib
import json
import signal

import pytest

from documents import conversion
from documents.models import Document
from jobs import payload as job_payload
from jobs import queue
from tests.cli.conftest import API_KEY
from tests.conftest import FIXTURES, wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture
def ilios(api_server, workers):
    """A live Ilios that requires an API key, with one worker process."""
    server = api_server(API_KEY=API_KEY)
    workers(processes=1, concurrency=2)
    return server


def markdown_files(out) -> set[str]:
    return {str(path.relative_to(out)) for path in out.rglob("*.md")}


def test_a_folder_becomes_a_mirrored_tree_of_markdown(cli, folder, ilios, tmp_path):
    source = folder(
        {
            "a.pdf": "minimal-document.pdf",
            "sub/b.pdf": "pdflatex-4-pages.pdf",
            "sub/deeper/c.TIF": "phototest.tif",
            "sub/notes.txt": b"not a document",
            ".hidden/d.pdf": "minimal-document.pdf",
        }
    )

    result = cli.run("convert", "in", "--out", "out", "--engine", "local", server=ilios)

    assert result.returncode == 0, result.stderr
    out = tmp_path / "out"
    assert markdown_files(out) == {"a.pdf.md", "sub/b.pdf.md", "sub/deeper/c.TIF.md"}
    assert (out / "a.pdf.md").read_text().startswith("Lorem ipsum dolor sit amet")
    assert "Hello, here is some text without a meaning" in (out / "sub/b.pdf.md").read_text()
    assert "12 point text" in (out / "sub/deeper/c.TIF.md").read_text()
    record = json.loads((out / "sub/b.pdf.ilios.json").read_text())
    assert record["sha256"] == hashlib.sha256((source / "sub/b.pdf").read_bytes()).hexdigest()
    assert (
        Document.objects.get(id=record["document_id"]).content.encode()
        == (out / "sub/b.pdf.md").read_bytes()
    )
    assert "Converted 3 files (6 pages)" in result.stdout
    assert "1 other file in the folders left out (not named as a PDF or an image)" in result.stdout
    assert Document.objects.count() == 3


def test_a_second_run_converts_only_what_changed(cli, folder, ilios, tmp_path):
    source = folder({"a.pdf": "minimal-document.pdf", "b.pdf": "pdflatex-4-pages.pdf"})
    assert cli.run("convert", "in", "--out", "out", server=ilios).returncode == 0

    (source / "b.pdf").write_bytes((source / "a.pdf").read_bytes())
    again = cli.run("convert", "in", "--out", "out", server=ilios)

    assert again.returncode == 0, again.stderr
    assert "Converted 1 file (1 page)" in again.stdout
    assert "1 file already converted there, skipped" in again.stdout
    assert (tmp_path / "out/b.pdf.md").read_text().startswith("Lorem ipsum")
    assert Document.objects.count() == 3


def test_failed_files_are_listed_with_the_servers_reason_and_the_run_exits_1(
    cli, folder, ilios, tmp_path
):
    folder(
        {
            "good.pdf": "minimal-document.pdf",
            "text.pdf": b"just text, named as a PDF",
            "broken.pdf": "truncated-nics.pdf",
        }
    )

    result = cli.run("convert", "in", "--out", "out", server=ilios)

    assert result.returncode == 1
    assert "Converted 1 file " in result.stdout
    failures = result.stderr[result.stderr.index("2 files failed:") :]
    text_reason = next(line for line in failures.splitlines() if "text.pdf" in line)
    assert "not a supported document" in text_reason and "HTTP 415" in text_reason
    broken_reason = next(line for line in failures.splitlines() if "broken.pdf" in line)
    assert "HTTP 422" in broken_reason
    assert markdown_files(tmp_path / "out") == {"good.pdf.md"}
    records = {path.name for path in (tmp_path / "out").glob("*.ilios.json")}
    assert records == {"good.pdf.ilios.json"}, "a failed file keeps no record: retried next run"


def convert_one_queued_document() -> None:
    """What one worker does for one job, done here: the test decides how far the server gets
    before the run is interrupted, however fast this machine converts."""
    worker = queue.register_worker(concurrency=1)
    [job] = queue.claim(worker.id, limit=1)
    result = conversion.run(queue.document_of(job), job_payload.options(job.payload))
    assert queue.complete(job, worker.id, result)


def test_an_interrupted_run_continues_where_it_stopped_converting_nothing_twice(
    cli, folder, api_server, workers, tmp_path
):
    """No worker runs until the interruption: one file is converted, two are on the server
    still queued, five are not uploaded yet when Ctrl-C comes. The files differ (a comment
    after the end of the PDF): the server would answer a copy of a converted file at once."""
    server = api_server(API_KEY=API_KEY)
    pdf = (FIXTURES / "pdflatex-4-pages.pdf").read_bytes()
    names = [f"part-{n}/doc-{n}.pdf" for n in range(8)]
    folder({name: pdf + f"% copy {n}\n".encode() for n, name in enumerate(names)})
    out = tmp_path / "out"
    run = cli.start("convert", "in", "--out", "out", "--concurrency", "2", server=server)
    wait_until(lambda: Document.objects.count() == 2, timeout=60)
    convert_one_queued_document()
    wait_until(lambda: out.exists() and markdown_files(out), timeout=60)
    wait_until(lambda: Document.objects.count() == 3, timeout=60)

    run.send_signal(signal.SIGINT)  # Ctrl-C
    stdout, stderr = run.communicate(timeout=60)

    assert run.returncode == 130, stderr
    assert "Converted 1 file (4 pages)" in stdout
    assert "Interrupted: 2 still converting on the server, 5 not started." in stdout
    assert "Run the same command again to continue" in stdout
    assert len(markdown_files(out)) == 1
    workers(processes=1, concurrency=2)
    resumed = cli.run("convert", "in", "--out", "out", "--concurrency", "2", server=server)
    assert resumed.returncode == 0, resumed.stderr
    assert "1 file already converted there, skipped" in resumed.stdout
    assert markdown_files(out) == {f"{name}.md" for name in names}
    assert Document.objects.count() == len(names)
    assert Document.objects.filter(status="completed").count() == len(names)


def test_a_killed_run_collects_the_documents_it_had_submitted(
    cli, folder, api_server, workers, tmp_path
):
    """kill -9 while two files convert on the server: the next run picks them up, it does not
    upload them again. No workers run at first, so the kill lands while both are in flight."""
    server = api_server(API_KEY=API_KEY)
    names = [f"doc-{n}.pdf" for n in range(5)]
    folder(dict.fromkeys(names, "minimal-document.pdf"))
    out = tmp_path / "out"
    run = cli.start("convert", "in", "--out", "out", "--concurrency", "2", server=server)

    def submitted():
        records = [json.loads(path.read_text()) for path in out.rglob("*.ilios.json")]
        return [r for r in records if r["status"] == "submitted"]

    wait_until(lambda: len(submitted()) == 2, timeout=60)
    run.kill()
    run.communicate(timeout=30)
    assert Document.objects.count() == 2
    workers(processes=1, concurrency=2)

    resumed = cli.run("convert", "in", "--out", "out", "--concurrency", "2", server=server)

    assert resumed.returncode == 0, resumed.stderr
    assert markdown_files(out) == {f"{name}.md" for name in names}
    assert Document.objects.count() == len(names)


def test_a_throttled_run_waits_as_retry_after_says_and_finishes(
    cli, folder, api_server, workers, tmp_path
):
    server = api_server(API_KEY=API_KEY, THROTTLE_RATE="5/second")
    workers(processes=1, concurrency=2)
    names = [f"doc-{n}.pdf" for n in range(4)]
    folder(dict.fromkeys(names, "minimal-document.pdf"))

    result = cli.run("convert", "in", "--out", "out", "--concurrency", "4", server=server)

    assert result.returncode == 0, result.stderr
    assert markdown_files(tmp_path / "out") == {f"{name}.md" for name in names}
    assert '" 429 ' in server.log.read_text(), "the server never throttled: the test tests nothing"
    assert Document.objects.count() == len(names)


def test_a_bad_key_stops_the_run_before_any_upload_with_exit_code_2(cli, folder, api_server):
    ilios = api_server(API_KEY=API_KEY)
    folder({"a.pdf": "minimal-document.pdf"})

    wrong = cli.run("convert", "in", "--out", "out", "--api-key", "wrong", server=ilios, key=None)
    missing = cli.run("convert", "in", "--out", "out", server=ilios, key=None)

    assert wrong.returncode == 2
    assert "refused the API key: invalid or revoked API key" in wrong.stderr
    assert missing.returncode == 2
    assert "needs an API key: pass --api-key or set ILIOS_API_KEY" in missing.stderr
    assert "Traceback" not in wrong.stderr + missing.stderr
    assert Document.objects.count() == 0
