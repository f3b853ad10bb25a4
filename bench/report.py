"""The bars of issues 5 and 7 checked against a results dict, and the Markdown table."""

from __future__ import annotations

import json
import re
from pathlib import Path

from bench.quality.peers import markdown_table

START, END = "<!-- bench:start -->", "<!-- bench:end -->"


def _get(data, *keys):
    for key in keys:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


def bars(results: dict) -> list[dict]:
    """Each bar: what it asks, the measured value, met or not."""
    out = []

    def bar(name, value, target, met, unit=""):
        out.append(
            {
                "bar": name,
                "value": None if value is None else round(value, 3),
                "target": target,
                "unit": unit,
                "met": None if value is None else bool(met(value)),
            }
        )

    for key, entry in (results.get("queue_throughput") or {}).items():
        if key.endswith("/p2"):
            db = key.split("/")[0]
            bar(
                f"queue {db} 2 processes: ≥ 3× best peer",
                entry.get("ratio_vs_best_peer"),
                "≥ 3×",
                lambda v: v >= 3,
                "×",
            )
            bar(
                f"queue {db} 2 processes: aim 3,000 jobs/s",
                _get(entry, "ilios", "median"),
                "3000",
                lambda v: v >= 3000,
                "jobs/s",
            )
    encrypted = results.get("encrypted_queue") or {}
    if "ratio" in encrypted:
        bar(
            "queue on SQLCipher (DB_ENCRYPTION_KEY): within 15 % of plain SQLite",
            encrypted["ratio"],
            "≥ 0.85×",
            lambda v: v >= 0.85,
            "×",
        )
    fanout = results.get("fanout") or {}
    if "speedup" in fanout:
        bar(
            f"fan-out: {fanout['pages']}-page PDF, local engine, 2 workers: ≥ 1.7× serial",
            fanout["speedup"],
            "≥ 1.7×",
            lambda v: v >= 1.7,
            "×",
        )
        mistral = fanout["mistral"]["fanout"]
        bar(
            f"fan-out: {fanout['mistral']['pages']}-page PDF through the fake Mistral converts",
            1.0 if mistral["status"] == "completed" and mistral["every_page_in_order"] else 0.0,
            "completed",
            lambda v: v == 1.0,
        )
    for db, entry in (results.get("slow_engine") or {}).items():
        bar(
            f"slow engine {db}: ≥ 90 % of the limit",
            entry.get("ratio_vs_limit"),
            "≥ 0.9",
            lambda v: v >= 0.9,
        )
    for db, entry in (results.get("submit_to_claim") or {}).items():
        bar(
            f"submit-to-claim {db}: p50 < 100 ms",
            entry.get("p50_ms"),
            "< 100",
            lambda v: v < 100,
            "ms",
        )
        bar(
            f"submit-to-claim {db}: p99 < 500 ms",
            entry.get("p99_ms"),
            "< 500",
            lambda v: v < 500,
            "ms",
        )
    for where in ("local", "s3"):
        door = _get(results, "front_door", where, "current") or {}
        if where == "local":
            bar(
                "front door, local storage, workers busy: submit p50 ≤ 10 ms",
                door.get("submit_p50_ms"),
                "≤ 10",
                lambda v: v <= 10,
                "ms",
            )
        else:
            bar(
                "front door, S3, workers busy: submit p50 within 5 ms of the bare PUT's",
                door.get("submit_minus_put_p50_ms"),
                "≤ 5",
                lambda v: v <= 5,
                "ms",
            )
    api = results.get("api_load") or {}
    bar(
        "API: status ≥ 70 % of the bare view",
        api.get("status_vs_bare"),
        "≥ 0.7",
        lambda v: v >= 0.7,
    )
    submit = api.get("submit") or {}
    if submit:
        bar(
            "API: submissions without errors",
            submit["non_2xx"] + submit["socket_errors"],
            "0",
            lambda v: v == 0,
            "errors",
        )
    for where in ("local", "s3"):
        upload = _get(results, "uploads", where) or {}
        bar(
            f"upload to {where}: RSS growth < 100 MB",
            upload.get("rss_growth_mib"),
            "< 100",
            lambda v: v < 100 / 1.048576,
            "MiB",
        )
        bar(
            f"upload to {where}: ≥ 100 MB/s",
            upload.get("mb_per_s"),
            "≥ 100",
            lambda v: v >= 100,
            "MB/s",
        )
    rerun = results.get("cached_rerun") or {}
    if "queued" in rerun:
        bar(
            "cached re-run: engine calls",
            rerun["queued"]["cached_engine_calls"] + rerun["sync"]["cached_engine_calls"],
            "0",
            lambda v: v == 0,
        )
    hostile = results.get("hostile_inputs") or {}
    if "inputs" in hostile:
        bar(
            "hostile inputs: no process grows by more than 300 MB",
            hostile["max_growth_mb"],
            "≤ 300",
            lambda v: v <= 300,
            "MB",
        )
        bar(
            "hostile inputs: memory back within 50 MB of the baseline",
            max(hostile["after_minus_baseline_mb"].values()),
            "≤ 50",
            lambda v: v <= 50,
            "MB",
        )
    converters = (results.get("local_engine_quality") or {}).get("converters") or []
    local = next((c for c in converters if c["key"] == "ilios"), None)
    if local:
        markitdown = next((c for c in converters if c["key"] == "markitdown"), {})
        bar(
            "local engine: facts passed ≥ 85 %",
            local["facts_pooled"],
            "≥ 0.85",
            lambda v: v >= 0.85,
        )
        bar(
            "local engine: born-digital ≥ 50 pages/s",
            local["born_digital_pages_per_s"],
            "≥ 50",
            lambda v: v >= 50,
            "pages/s",
        )
        text_layer = next((c for c in converters if c["key"] == "ilios-no-figure-ocr"), None)
        if text_layer:
            bar(
                "local engine, figure OCR off: born-digital ≥ 50 pages/s",
                text_layer["born_digital_pages_per_s"],
                "≥ 50",
                lambda v: v >= 50,
                "pages/s",
            )
        if markitdown.get("born_digital_pages_per_s"):
            bar(
                "local engine: born-digital ≥ 5× markitdown",
                local["born_digital_pages_per_s"] / markitdown["born_digital_pages_per_s"],
                "≥ 5×",
                lambda v: v >= 5,
                "×",
            )
        bar(
            "local engine: OCR word recall ≥ 98 %",
            local.get("ocr_word_recall"),
            "≥ 0.98",
            lambda v: v >= 0.98,
        )
        bar(
            "local engine: OCR ≥ 0.5 pages/s",
            local.get("ocr_pages_per_s"),
            "≥ 0.5",
            lambda v: v >= 0.5,
            "pages/s",
        )
    return out


def _fmt(value, digits=0):
    if value is None:
        return "—"
    return f"{value:,.{digits}f}"


def table(results: dict) -> str:
    machine = results.get("machine", {})
    lines = [
        f"Measured {results.get('generated_at', '')} in `{_get(results, 'mode', 'name')}` mode on "
        f"{machine.get('cpus')} × {machine.get('processor')}, {machine.get('memory_gib')} GiB, "
        f"PostgreSQL {machine.get('postgresql', '—')}, SQLite {machine.get('sqlite', '—')}; "
        "medians (see benchmarks/latest_results.json for every run).",
        "",
        "**Queue throughput** (5,000 no-op jobs, jobs/s; Ilios runs `--concurrency 16`)",
        "",
        "| database | processes | Ilios | django-tasks | django-q2 | procrastinate "
        "| Ilios ÷ best peer |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for key, entry in (results.get("queue_throughput") or {}).items():
        db, processes = key.split("/p")
        cells = [
            _fmt(_get(entry, name, "median"))
            for name in ("ilios", "django-tasks", "django-q2", "procrastinate")
        ]
        ratio = entry.get("ratio_vs_best_peer")
        lines.append(
            f"| {db} | {processes} | **{cells[0]}** | {cells[1]} | {cells[2]} | {cells[3]} | "
            f"{_fmt(ratio, 1)}× |"
        )
    lines += [
        "",
        "**Other figures**",
        "",
        "| figure | value | bar | met |",
        "| --- | --- | --- | --- |",
    ]
    encrypted = results.get("encrypted_queue") or {}
    if "ratio" in encrypted:
        pairs = encrypted["pairs"]
        lines.append(
            f"| queue on SQLCipher ÷ plain SQLite (2 × 16, {len(pairs)} alternating pairs) | "
            f"{_fmt(encrypted['ratio'], 2)}× (pairs {min(p['ratio'] for p in pairs):.2f}–"
            f"{max(p['ratio'] for p in pairs):.2f}) | ≥ 0.85× | "
            f"{'yes' if encrypted['ratio'] >= 0.85 else 'no'} |"
        )
    for db, entry in (results.get("slow_engine") or {}).items():
        if "median" in entry:
            lines.append(
                f"| slow engine (0.5 s/doc, 2 × 16), {db} | {_fmt(entry['median'], 1)} docs/s = "
                f"{entry['ratio_vs_limit'] * 100:.0f} % of {entry['limit_docs_per_s']:g}; "
                f"{entry['ratio_vs_original_design']:g}× the original design's "
                f"{entry['original_design_docs_per_s']:g} | ≥ 90 % | "
                f"{'yes' if entry['ratio_vs_limit'] >= 0.9 else 'no'} |"
            )
    for db, entry in (results.get("submit_to_claim") or {}).items():
        if "p50_ms" in entry:
            ok = entry["p50_ms"] < 100 and entry["p99_ms"] < 500
            lines.append(
                f"| submit-to-claim, idle queue, {db} | p50 {_fmt(entry['p50_ms'], 1)} ms, "
                f"p99 {_fmt(entry['p99_ms'], 1)} ms; idle worker "
                f"{_fmt(entry['idle_queries_per_s_per_process'], 1)} queries/s | "
                f"p50 < 100, p99 < 500 | {'yes' if ok else 'no'} |"
            )
    for where in ("local", "s3"):
        door = _get(results, "front_door", where)
        if door and "current" in door:
            now, before = door["current"], door.get("baseline") or {}
            put = (
                f"; bare PUT p50 {_fmt(door['put_p50_ms'], 1)}, p99 {_fmt(door['put_p99_ms'], 1)}"
                if "put_p50_ms" in door
                else ""
            )
            baseline = (
                f"; baseline {results['front_door']['baseline']} p50 "
                f"{_fmt(before['submit_p50_ms'], 1)}, p99 {_fmt(before['submit_p99_ms'], 1)} "
                f"(p50 ÷ {_fmt(door['p50_ratio'], 2)})"
                if before
                else ""
            )
            if where == "local":
                target, met = "p50 ≤ 10", now["submit_p50_ms"] <= 10
            else:
                target, met = "p50 ≤ PUT + 5", now["submit_minus_put_p50_ms"] <= 5
            lines.append(
                f"| submit under load (2 × 16 workers busy), {where} storage | p50 "
                f"{_fmt(now['submit_p50_ms'], 1)} ms, p99 {_fmt(now['submit_p99_ms'], 1)} ms, "
                f"API CPU {_fmt(now['api_cpu_ms_per_submit'], 1)} ms{put}{baseline} | {target} | "
                f"{'yes' if met else 'no'} |"
            )
    api = results.get("api_load") or {}
    if "bare" in api:
        ratio = api["status_vs_bare"]
        lines.append(
            f"| API status vs bare view (32 conns) | {_fmt(api['status']['requests_per_s'])} vs "
            f"{_fmt(api['bare']['requests_per_s'])} req/s = {ratio * 100:.0f} % "
            f"(p99 {_fmt(api['status']['p99_ms'], 1)} vs {_fmt(api['bare']['p99_ms'], 1)} ms) | "
            f"≥ 70 % | {'yes' if ratio >= 0.7 else 'no'} |"
        )
        lines.append(
            "| API content of a 20-page document | "
            f"{_fmt(api['content']['requests_per_s'])} req/s, "
            f"p99 {_fmt(api['content']['p99_ms'], 1)} ms | — | — |"
        )
        sub = api["submit"]
        errors = sub["non_2xx"] + sub["socket_errors"]
        lines.append(
            f"| API submissions, workers running | {_fmt(sub['requests_per_s'])} req/s, "
            f"{errors} errors in {sub['requests']:,} | 0 errors | {'yes' if not errors else 'no'} |"
        )
    for where in ("local", "s3"):
        upload = _get(results, "uploads", where)
        if upload:
            ok = upload["mb_per_s"] >= 100 and upload["rss_growth_mib"] < 95.4
            lines.append(
                f"| upload {results['uploads']['mib']} MiB, {where} storage | "
                f"{_fmt(upload['mb_per_s'])} MB/s, RSS +{_fmt(upload['rss_growth_mib'])} MiB | "
                f"≥ 100 MB/s, < 100 MB | {'yes' if ok else 'no'} |"
            )
    rerun = results.get("cached_rerun") or {}
    if "queued" in rerun:
        queued, sync = rerun["queued"], rerun["sync"]
        calls = queued["cached_engine_calls"] + sync["cached_engine_calls"]
        lines += [
            f"| cached re-run of a {rerun['pages']}-page PDF, queued ({rerun['db']}) | "
            f"{_fmt(queued['cached_s']['median'] * 1000)} ms to Markdown vs "
            f"{_fmt(queued['first_s'] * 1000)} ms converted; engine calls "
            f"{queued['cached_engine_calls']} vs {queued['first_engine_calls']} | "
            f"0 engine calls | {'yes' if not calls else 'no'} |",
            f"| cached re-run of a {rerun['pages']}-page PDF, /v1/convert | "
            f"{_fmt(sync['cached_s']['median'] * 1000)} ms vs "
            f"{_fmt(sync['fresh_s']['median'] * 1000)} ms with `cache=false` "
            f"({_fmt(sync['speedup'], 1)}×); billed "
            f"{', '.join(rerun['cached_usage']['operations'])}, "
            f"{rerun['cached_usage']['total_cost_micros']} µ$ | — | — |",
        ]
    fanout = results.get("fanout") or {}
    if "speedup" in fanout:
        lines.append(
            f"| time to Markdown, {fanout['pages']}-page born-digital PDF, local engine, "
            f"WORKER_COUNT=2 | fan-out ({fanout['fanout_pages']} pages a part) "
            f"{_fmt(fanout['fanout_s']['median'], 1)} s vs in one piece "
            f"{_fmt(fanout['serial_s']['median'], 1)} s = {fanout['speedup']:.2f}× (engine time, "
            f"parts added up: {_engine_seconds(fanout, 'fanout')} vs "
            f"{_engine_seconds(fanout, 'serial')}; above it, the cores were shared) | ≥ 1.7× | "
            f"{'yes' if fanout['speedup'] >= 1.7 else 'no'} |"
        )
        for mode, label in (("fanout", "fan-out"), ("serial", "no fan-out")):
            run = fanout["mistral"][mode]
            ok = run["status"] == "completed" and run["every_page_in_order"]
            lines.append(
                f"| {fanout['mistral']['pages']}-page PDF through the fake Mistral (≤ 1,000 pages "
                f"a request), {label} | {run['status']} in {_fmt(run['seconds'], 1)} s, "
                f"{run['parts'] or 1} job(s), {len(run['billed_pages'])} bill(s) for "
                f"{sum(run['billed_pages'])} pages | "
                "every page, "
                f"in order | {'yes' if ok else 'no'} |"
            )
    hostile = results.get("hostile_inputs") or {}
    if "inputs" in hostile:
        lines += [
            "",
            f"**Hostile inputs** (bench/hostile.py, {hostile.get('measured_at', '')}; growth = "
            "peak RSS during the input − RSS before; warmed baselines: API "
            f"{_fmt(hostile['baseline_mb']['api'])} MB, worker "
            f"{_fmt(hostile['baseline_mb']['worker'])} MB; bar: ≤ 300 MB)",
            "",
            "| input | bytes | /v1/convert | API growth, MB | queued | worker growth, MB |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for row in hostile["inputs"]:
            lines.append(
                f"| {row['input']} | {row['bytes']:,} | {row['api_answer']} | "
                f"{_fmt(row['api_growth_mb'])} | {row['worker_outcome'][:60]} | "
                f"{_fmt(row['worker_growth_mb'])} |"
            )
        at_once = hostile["three_at_once"]
        after = hostile["after_minus_baseline_mb"]
        lines += [
            f"| three 14400 pt pages at once | — | {', '.join(at_once['api_answers'])} | "
            f"{_fmt(at_once['api_growth_mb'])} | {', '.join(at_once['worker_outcomes'])} | "
            f"{_fmt(at_once['worker_growth_mb'])} |",
            "",
            f"After the set: API {after['api']:+.0f} MB, worker {after['worker']:+.0f} MB against "
            "their warmed baselines.",
        ]
    quality = results.get("local_engine_quality") or {}
    if quality.get("converters"):
        lines += [
            "",
            "**Local engine beside offline converters** (bench/quality/peers.py; one core each; "
            "facts of ../shared/corpus/facts.jsonl pooled; bars: facts ≥ 85 %, born-digital "
            "≥ 50 pages/s, OCR recall ≥ 98 % at ≥ 0.5 pages/s)",
            "",
            markdown_table(quality["converters"]),
        ]
    lines += ["", "![benchmarks](benchmarks/chart.png)", ""]
    return "\n".join(lines)


def _engine_seconds(fanout: dict, mode: str) -> str:
    runs = sorted(run[mode]["engine_seconds"] for run in fanout["runs"])
    return f"{runs[len(runs) // 2]:.1f} s"


def merge(key: str, result: dict) -> None:
    """Put one benchmark's result into benchmarks/latest_results.json under `key`, then
    refresh the bars, the table and README's Benchmarks section (a driver run on its own)."""
    from bench import common

    path = common.RESULTS / "latest_results.json"
    results = json.loads(path.read_text()) if path.exists() else {}
    results[key] = result
    results["bars"] = bars(results)
    path.write_text(json.dumps(results, indent=2) + "\n")
    table_text = table(results)
    (common.RESULTS / "README_table.md").write_text(table_text)
    update_readme(common.REPO / "README.md", table_text)


def update_readme(readme: Path, table_text: str) -> bool:
    if not readme.exists():
        return False
    text = readme.read_text()
    if START not in text or END not in text:
        return False
    updated = re.sub(
        re.escape(START) + r".*?" + re.escape(END),
        lambda _: f"{START}\n{table_text}\n{END}",
        text,
        flags=re.S,
    )
    readme.write_text(updated)
    return True
