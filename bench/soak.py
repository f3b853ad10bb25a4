"""`make soak`: Ilios scaled out as its README says (PostgreSQL + S3), under fire, end to end.

    .venv/bin/python -m bench.soak

Three worker hosts, each in its own network namespace (a veth on a bridge, its own DATA_DIR
and its own engine: a fake Mistral API on the host's loopback), share one PostgreSQL and one S3
(moto server). The API (gunicorn, in the root namespace) takes every document. Three scenarios,
each submitting through the API with an Idempotency-Key and retrying a 503 as a client would:

- `host cut off` (issue 11, item 11): 300 documents; one host's link goes down while it holds
  jobs, for longer than WORKER_DEAD_AFTER. The others recover its jobs; when its link comes
  back its late results are refused (fenced) and it rejoins as a new worker and claims again.
- `database connections dropped` (item 5): `pg_terminate_backend` of every connection to the
  soak's database, then a few seconds of it refusing connections, while documents are submitted
  and converted.
- `storage outage` (item 6): the S3 server stops answering for a few seconds, then comes back,
  while documents are submitted and converted.

Each scenario checks that every accepted document completed once and was billed once, and counts
the answers: 503 with `database_unavailable` or `storage_unavailable` during an outage is
expected; any other 5xx is not. Prints a table; exits non-zero if anything was lost, billed
twice, or answered an unexpected 5xx. Where network namespaces cannot be made (not root), it
says why and exits 0 without running.

How the namespaces reach the shared services without reconfiguring the machine's PostgreSQL:
a small TCP forwarder in the root namespace listens on the bridge's address and connects to
127.0.0.1:5432, so the server sees local connections, as `pg_hba.conf` already trusts.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta

from bench import common, service

SUBNET = "10.213.0"
GATEWAY = f"{SUBNET}.1"  # the root namespace's address on the bridge
BRIDGE = "ilsoak0"
HOSTS = 3
PG_PORT = 5432
DB_NAME = "ilios_bench_soak"
BUCKET = "ilios-soak"
ENGINE_PORT = 8765  # each host's fake Mistral API, on its own loopback
ENGINE_LATENCY = 3.0  # seconds per OCR call: conversions finish while their host is cut off
CONCURRENCY = 6  # jobs per host at once
HEARTBEAT_INTERVAL = 1
WORKER_DEAD_AFTER = 6
MAINTENANCE_INTERVAL = 2
CUT_SECONDS = 20  # > WORKER_DEAD_AFTER + MAINTENANCE_INTERVAL + the retry's 5 s backoff
OUTAGE_SECONDS = 4
SUBMITTERS = 8
CLIENT_GIVES_UP_AFTER = 120.0  # seconds of retrying one submission
SCENARIO_TIMEOUT = 180.0  # for every accepted document to complete
OUT = common.OUT / "soak"


def namespace(host: int) -> str:
    return f"ilsoak-h{host}"


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


# --- The network: a bridge in the root namespace, a veth per host ------------------------------


class Network:
    """Three namespaces on one bridge; `cut`/`restore` take a host's link down and up again."""

    def __enter__(self) -> Network:
        self.remove()  # what an interrupted run left
        ip("link", "add", BRIDGE, "type", "bridge")
        ip("addr", "add", f"{GATEWAY}/24", "dev", BRIDGE)
        ip("link", "set", BRIDGE, "up")
        for host in range(1, HOSTS + 1):
            ns = namespace(host)
            ip("netns", "add", ns)
            ip("link", "add", ns, "type", "veth", "peer", "name", "eth0", "netns", ns)
            ip("link", "set", ns, "master", BRIDGE, "up")
            ip("-n", ns, "addr", "add", f"{SUBNET}.{10 + host}/24", "dev", "eth0")
            ip("-n", ns, "link", "set", "eth0", "up")
            ip("-n", ns, "link", "set", "lo", "up")
        return self

    def __exit__(self, *exc) -> None:
        self.remove()

    def remove(self) -> None:
        for host in range(1, HOSTS + 1):
            with contextlib.suppress(subprocess.CalledProcessError):
                ip("netns", "del", namespace(host))  # takes its veth pair along
        with contextlib.suppress(subprocess.CalledProcessError):
            ip("link", "del", BRIDGE)

    def cut(self, host: int) -> None:
        ip("link", "set", namespace(host), "down")

    def restore(self, host: int) -> None:
        ip("link", "set", namespace(host), "up")


def namespaces_unavailable() -> str | None:
    """Why network namespaces cannot be made here, or None."""
    probe = "ilsoak-probe"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if made.returncode != 0:
        return f"cannot create a network namespace (needs root): {made.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


class TcpForwarder:
    """Forwards GATEWAY:PG_PORT to 127.0.0.1:PG_PORT, one pair of threads per connection.

    A host whose link is down cannot close its connections; like a PostgreSQL server's own
    keepalives, the forwarder notices within about half a minute (TCP keepalives and
    TCP_USER_TIMEOUT) and closes the server side, so a transaction the host left open does not
    hold its row locks forever.
    """

    def __init__(self, listen: tuple[str, int], target: tuple[str, int]):
        self.target = target
        self.server = socket.create_server(listen, reuse_port=False)
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=10)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            for sock in (client, upstream):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 10)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, 5)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, 3)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, 30_000)
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self.pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def close(self) -> None:
        self.server.close()


class S3:
    """The moto server every process stores originals in; `stop`/`start` make an outage (moto
    keeps the bucket's objects in this process meanwhile)."""

    def __init__(self):
        self.port = common.free_port()
        self.endpoint = f"http://{GATEWAY}:{self.port}"
        self.start()
        import boto3

        boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id="soak",
            aws_secret_access_key="soak",
        ).create_bucket(Bucket=BUCKET)

    def start(self) -> None:
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # a line per request otherwise
        self.server = ThreadedMotoServer(ip_address=GATEWAY, port=self.port, verbose=False)
        self.server.start()

    def stop(self) -> None:
        self.server.stop()

    def env(self) -> dict:
        return {
            "S3_BUCKET": BUCKET,
            "AWS_ENDPOINT_URL_S3": self.endpoint,
            "AWS_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "soak",
            "AWS_SECRET_ACCESS_KEY": "soak",
        }


# --- Processes ---------------------------------------------------------------------------------


class Hosts:
    """Each host's fake engine and `runworkers` (one process of CONCURRENCY jobs), started in
    its namespace. `ip netns exec` execs the command, so the pids are the processes' own."""

    def __init__(self, env: dict):
        self.env = env
        self.engines: list[subprocess.Popen] = []
        self.workers: list[subprocess.Popen] = []
        for host in range(1, HOSTS + 1):
            self.engines.append(self.start_engine(host))
        for host in range(1, HOSTS + 1):
            self.workers.append(self.start_workers(host))

    def in_namespace(self, host: int, args: list[str], log: str, env: dict | None = None):
        return common.start(
            ["ip", "netns", "exec", namespace(host), *args], env=env, log=OUT / f"{log}.log"
        )

    def start_engine(self, host: int) -> subprocess.Popen:
        args = [service.PYTHON, "-m", "fakes.mistral_server"]
        args += ["--port", str(ENGINE_PORT), "--latency", str(ENGINE_LATENCY)]
        return self.in_namespace(host, args, f"host{host}-engine")

    def start_workers(self, host: int) -> subprocess.Popen:
        data_dir = OUT / f"host{host}"
        data_dir.mkdir(parents=True, exist_ok=True)
        env = {
            **self.env,
            "DATA_DIR": str(data_dir),
            "DATABASE_URL": f"postgres://{common.PG_USER}@{GATEWAY}:{PG_PORT}/{DB_NAME}",
            "MISTRAL_SERVER_URL": f"http://127.0.0.1:{ENGINE_PORT}",
            "LOG_LEVEL": "INFO",
        }
        args = [service.PYTHON, "manage.py", "runworkers", "--processes=1"]
        return self.in_namespace(host, [*args, f"--concurrency={CONCURRENCY}"], f"host{host}", env)

    def log(self, host: int) -> str:
        return (OUT / f"host{host}.log").read_text(errors="replace")

    def stop(self) -> None:
        for process in self.workers + self.engines:
            common.stop(process)


class PeakRss:
    """The largest resident set of any API process and of any worker process, sampled every
    half second while a scenario runs."""

    def __init__(self, api: subprocess.Popen, hosts: Hosts):
        self.api, self.hosts = api, hosts
        self.peaks = {"api": 0, "workers": 0}
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self.sample, daemon=True)
        self.thread.start()

    def sample(self) -> None:
        while not self.stopped.wait(0.5):
            groups = {"api": [self.api.pid], "workers": [p.pid for p in self.hosts.workers]}
            for name, roots in groups.items():
                pids = roots + [child for pid in roots for child in service.children(pid)]
                self.peaks[name] = max([self.peaks[name]] + [service.rss_kib(p) for p in pids])

    def stop(self) -> dict:
        self.stopped.set()
        self.thread.join()
        return {name: round(kib / 1024) for name, kib in self.peaks.items()}


# --- Submitting as a client does ---------------------------------------------------------------

EXPECTED_503 = {"database_unavailable", "storage_unavailable"}


@dataclass
class Tally:
    tried: int = 0
    answers: Counter = field(default_factory=Counter)  # "202", "503 storage_unavailable"...
    accepted: dict[str, str] = field(default_factory=dict)  # idempotency key -> document id
    refused: list[str] = field(default_factory=list)  # keys the client gave up on
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, answer: str) -> None:
        with self.lock:
            self.answers[answer] += 1


def submit_until_accepted(url: str, key: str, content: bytes, tally: Tally) -> None:
    """POST /v1/documents with an Idempotency-Key, retrying (same key, same bytes) after a 503,
    a 409 `idempotency_key_in_progress` or a dropped connection, as a careful client would."""
    import urllib3

    http = urllib3.PoolManager(retries=False, timeout=60)
    deadline = time.monotonic() + CLIENT_GIVES_UP_AFTER
    while time.monotonic() < deadline:
        try:
            response = http.request(
                "POST",
                f"{url}/v1/documents",
                fields={"file": (f"{key}.pdf", content, "application/pdf")},
                headers={"Idempotency-Key": key},
            )
        except urllib3.exceptions.HTTPError as exc:
            tally.count(f"no answer ({type(exc).__name__})")
            time.sleep(1)
            continue
        code = ""
        with contextlib.suppress(ValueError, KeyError, TypeError):
            code = json.loads(response.data)["error"]["code"]
        tally.count(f"{response.status} {code}".strip())
        if response.status == 202:
            with tally.lock:
                tally.accepted[key] = json.loads(response.data)["id"]
            return
        if response.status in (409, 503):
            time.sleep(min(float(response.headers.get("Retry-After", 1)), 2.0))
            continue
        break
    with tally.lock:
        tally.refused.append(key)


def submit_all(url: str, scenario: str, count: int, tally: Tally, pace: float = 0.0) -> None:
    """Submit `count` distinct documents from SUBMITTERS client threads, `pace` seconds apart."""
    run = uuid.uuid4().hex[:8]

    def one(i: int) -> None:
        time.sleep(i * pace)
        content = service.small_pdf(text=f"soak {scenario} {i}")
        submit_until_accepted(url, f"soak-{run}-{scenario}-{i}", content, tally)

    tally.tried += count
    with ThreadPoolExecutor(SUBMITTERS) as pool:
        list(pool.map(one, range(count)))


# --- Checking what became of every accepted document ---------------------------------------------


def settle(tally: Tally) -> dict:
    """Wait for every accepted document to end; then what became of each."""
    from django.db import connection

    from documents.models import Document

    ids = list(tally.accepted.values())
    deadline = time.monotonic() + SCENARIO_TIMEOUT
    while time.monotonic() < deadline:
        connection.close()  # the outages drop this process's connection too
        ended = Document.objects.filter(id__in=ids, status__in=["completed", "failed"]).count()
        if ended == len(ids):
            break
        time.sleep(1)
    return outcomes(tally)


def outcomes(tally: Tally) -> dict:
    from django.db.models import Count

    from documents.models import Document
    from jobs.models import Job
    from usage.models import UsageRecord

    ids = set(tally.accepted.values())
    completed = set(
        Document.objects.filter(id__in=ids, status="completed").values_list("id", flat=True)
    )
    jobs_done = Counter(
        Job.objects.filter(document_id__in=ids, type="convert", status="completed").values_list(
            "document_id", flat=True
        )
    )
    bills = dict(
        UsageRecord.objects.filter(document_id__in=ids)
        .values_list("document_id")
        .annotate(n=Count("id"))
        .values_list("document_id", "n")
    )
    lost = {i for i in ids if i not in completed or jobs_done[i] != 1 or bills.get(i, 0) == 0}
    twice = {i for i in ids if bills.get(i, 0) > 1 or jobs_done[i] > 1}
    unexpected = sum(
        n
        for answer, n in tally.answers.items()
        if answer[:1] == "5" and not (answer.startswith("503 ") and answer[4:] in EXPECTED_503)
    )
    expected = sum(n for answer, n in tally.answers.items() if answer[4:] in EXPECTED_503)
    return {
        "tried": tally.tried,
        "accepted": len(ids),
        "refused": len(tally.refused),
        "lost": len(lost | {f"key:{k}" for k in tally.refused}),
        "billed_twice": len(twice),
        "expected_503": expected,
        "unexpected_5xx": unexpected,
        "answers": dict(tally.answers),
    }


# --- Scenarios -----------------------------------------------------------------------------------


def wait_for(predicate, timeout: float, what: str):
    try:
        return common.wait_until(predicate, timeout, interval=0.2)
    except TimeoutError:
        raise SystemExit(f"soak: {what} did not happen within {timeout:g} s") from None


def workers_of_host(hosts: Hosts, host: int) -> set[int]:
    """The Worker rows registered by this host's processes (their pids, seen from here)."""
    from jobs.models import Worker

    process = hosts.workers[host - 1]
    pids = {process.pid, *service.children(process.pid)}
    return set(Worker.objects.filter(pid__in=pids).values_list("id", flat=True))


def host_cut_off(url: str, network: Network, hosts: Hosts, tally: Tally) -> dict:
    """Item 11: cut host 1's link while it holds jobs, for longer than WORKER_DEAD_AFTER."""
    from django.db import connection
    from django.utils import timezone

    from jobs.models import Job, Worker

    submitter = threading.Thread(target=submit_all, args=(url, "cut", 300, tally, 0.02))
    submitter.start()
    cut_host = 1

    def holding() -> list[tuple[int, int]]:
        """Host 1's jobs, once it holds some whose originals it has fetched (in the engine)."""
        connection.close()
        mine = Job.objects.filter(status="processing", worker_id__in=workers_of_host(hosts, 1))
        converting = timezone.now() - timedelta(seconds=ENGINE_LATENCY / 3)
        if not mine.filter(started_at__lt=converting).exists():
            return []
        return list(mine.values_list("id", "attempts"))

    wait_for(holding, 120, "host 1 holding jobs")
    [cut_worker] = workers_of_host(hosts, cut_host)
    network.cut(cut_host)
    cut_at = time.monotonic()
    held = holding()  # what it holds now cannot change until its link is back
    print(f"  host {cut_host} cut off holding jobs {sorted(j for j, _ in held)}", flush=True)
    wait_for(
        lambda: Worker.objects.filter(id=cut_worker, status="dead").exists(),
        WORKER_DEAD_AFTER + 15,
        "host 1 declared dead",
    )
    time.sleep(max(0.0, CUT_SECONDS - (time.monotonic() - cut_at)))
    network.restore(cut_host)
    print(f"  host {cut_host} back after {time.monotonic() - cut_at:.0f} s", flush=True)
    submitter.join()
    result = settle(tally)

    held_ids = [job_id for job_id, _ in held]
    redone = Job.objects.filter(id__in=held_ids, status="completed").exclude(worker_id=cut_worker)
    log = hosts.log(cut_host)
    refused = {int(j) for j in re.findall(r"job (\d+): result not recorded", log)}
    rejoined = (
        Worker.objects.filter(id__in=workers_of_host(hosts, cut_host))
        .exclude(id=cut_worker)
        .filter(jobs_completed__gt=0)
    )
    result["cut"] = {
        "held_at_cut": len(held_ids),
        "recovered_by_others": redone.count(),
        "late_results_refused": len(refused & set(held_ids)),
        "claimed_while_dead": len(refused - set(held_ids)),
        "declared_dead_and_stopped": "was declared dead; stopping" in log,
        "rejoined_and_claimed": rejoined.exists(),
    }
    return result


def database_dropped(url: str, tally: Tally) -> dict:
    """Item 5: every connection to the soak's database terminated, twice, and a few seconds of
    the database refusing connections, while documents are submitted and converted."""
    submitter = threading.Thread(target=submit_all, args=(url, "db", 100, tally, 0.05))
    submitter.start()
    time.sleep(1.5)
    dropped = terminate_connections()
    time.sleep(1.5)
    common.psql(f"ALTER DATABASE {DB_NAME} ALLOW_CONNECTIONS false")
    try:
        dropped += terminate_connections()
        time.sleep(OUTAGE_SECONDS)
    finally:
        common.psql(f"ALTER DATABASE {DB_NAME} ALLOW_CONNECTIONS true")
    print(f"  {dropped} connections terminated, {OUTAGE_SECONDS} s refused", flush=True)
    submitter.join()
    return settle(tally)


def terminate_connections() -> int:
    return int(
        common.psql(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            f"WHERE datname = '{DB_NAME}' AND pid <> pg_backend_pid()"
        ).strip()
    )


def storage_outage(url: str, s3: S3, tally: Tally) -> dict:
    """Item 6: S3 stops answering for a few seconds while documents are submitted and
    converted (workers' downloads of originals fail and are retried)."""
    submitter = threading.Thread(target=submit_all, args=(url, "s3", 100, tally, 0.05))
    submitter.start()
    time.sleep(2)
    s3.stop()
    time.sleep(OUTAGE_SECONDS)
    s3.start()
    print(f"  S3 stopped for {OUTAGE_SECONDS} s", flush=True)
    submitter.join()
    return settle(tally)


# --- Running it all ------------------------------------------------------------------------------

COLUMNS = [
    ("scenario", 30),
    ("tried", 6),
    ("lost", 5),
    ("billed twice", 13),
    ("503 expected", 13),
    ("other 5xx", 10),
    ("API MB", 7),
    ("worker MB", 10),
]


def table(results: dict) -> str:
    lines = [" ".join(f"{name:>{width}}" for name, width in COLUMNS)]
    for scenario, r in results.items():
        row = [
            scenario,
            r["tried"],
            r["lost"],
            r["billed_twice"],
            r["expected_503"],
            r["unexpected_5xx"],
            r["peak_rss_mb"]["api"],
            r["peak_rss_mb"]["workers"],
        ]
        lines.append(" ".join(f"{value:>{w}}" for value, (_, w) in zip(row, COLUMNS, strict=True)))
    return "\n".join(lines)


def cut_as_promised(cut: dict) -> bool:
    """The cut host's jobs were all recovered by the others, a result it finished meanwhile was
    refused, it claimed nothing once declared dead, and it came back as a new worker."""
    return (
        cut["held_at_cut"] > 0
        and cut["recovered_by_others"] == cut["held_at_cut"]
        and cut["late_results_refused"] > 0
        and cut["claimed_while_dead"] == 0
        and cut["declared_dead_and_stopped"]
        and cut["rejoined_and_claimed"]
    )


def migrate(env: dict) -> None:
    """Point this process at a fresh soak database, migrated (never the other benchmarks')."""
    common.pg_recreate(DB_NAME)
    os.environ.update(env)
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def main() -> int:
    reason = namespaces_unavailable()
    if reason:
        print(f"soak skipped: {reason}")
        return 0
    if not common.pg_available():
        print("soak skipped: no PostgreSQL at " + common.pg_url())
        return 0
    OUT.mkdir(parents=True, exist_ok=True)
    # SIGTERM unwinds like an error: the processes, namespaces and bridge are removed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("soak: terminated"))
    started = time.monotonic()
    results: dict[str, dict] = {}
    with contextlib.ExitStack() as stack:
        network = stack.enter_context(Network())
        forwarder = TcpForwarder((GATEWAY, PG_PORT), (common.PG_HOST, common.PG_PORT))
        stack.callback(forwarder.close)
        s3 = S3()
        stack.callback(s3.stop)
        env = service.environment(
            "postgres",
            "soak",
            **s3.env(),
            MISTRAL_API_KEY="soak",
            OCR_ENGINE="mistral",
            HEARTBEAT_INTERVAL=HEARTBEAT_INTERVAL,
            WORKER_DEAD_AFTER=WORKER_DEAD_AFTER,
            MAINTENANCE_INTERVAL=MAINTENANCE_INTERVAL,
        )
        env["DATABASE_URL"] = common.pg_url(DB_NAME)
        migrate(env)
        api, url = service.start_gunicorn(env, "soak/api")
        stack.callback(common.stop, api)
        hosts = Hosts(env)
        stack.callback(hosts.stop)
        scenarios = {
            "host cut off (item 11)": lambda t: host_cut_off(url, network, hosts, t),
            "database dropped (item 5)": lambda t: database_dropped(url, t),
            "storage outage (item 6)": lambda t: storage_outage(url, s3, t),
        }
        for name, scenario in scenarios.items():
            print(f"{name}:", flush=True)
            rss = PeakRss(api, hosts)
            result = scenario(Tally())
            result["peak_rss_mb"] = rss.stop()
            results[name] = result
            print("  " + json.dumps(result), flush=True)
    print()
    print(table(results))
    for name, r in results.items():
        if "cut" in r:
            print(
                f"{name}: " + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in r["cut"].items())
            )
    print(f"\n{time.monotonic() - started:.0f} s; logs in {OUT.relative_to(common.REPO)}/")
    failed = [
        name
        for name, r in results.items()
        if r["lost"]
        or r["billed_twice"]
        or r["unexpected_5xx"]
        or ("cut" in r and not cut_as_promised(r["cut"]))
    ]
    common.emit({"soak": results})
    if failed:
        print(f"soak FAILED: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
