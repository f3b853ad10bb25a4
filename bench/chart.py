"""Renders benchmarks/chart.png from latest_results.json, in bench/.venvs/tools (matplotlib):

bench/.venvs/tools/bin/python -m bench.chart benchmarks/latest_results.json benchmarks/chart.png
"""

import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

SYSTEMS = ("ilios", "django-tasks", "django-q2", "procrastinate")
COLORS = {
    "ilios": "#d9822b",
    "django-tasks": "#5b8def",
    "django-q2": "#8e6cc4",
    "procrastinate": "#3aa17e",
}


def main(source: str, target: str) -> None:
    with open(source) as handle:
        results = json.load(handle)
    queue = results.get("queue_throughput") or {}
    slow = results.get("slow_engine") or {}
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.8), gridspec_kw={"width_ratios": [3, 1]})
    groups = list(queue)
    width = 0.2
    for i, system in enumerate(SYSTEMS):
        values = [(queue[g].get(system) or {}).get("median") or 0 for g in groups]
        positions = [x + (i - 1.5) * width for x in range(len(groups))]
        bars = left.bar(positions, values, width, label=system, color=COLORS[system])
        for bar, value in zip(bars, values, strict=True):
            if value:
                left.annotate(
                    f"{value:,.0f}",
                    (bar.get_x() + bar.get_width() / 2, value),
                    ha="center",
                    va="bottom",
                    fontsize=7,
                )
    left.set_xticks(range(len(groups)))
    left.set_xticklabels(
        [
            g.replace("/p", "\n").replace("\n1", "\n1 process").replace("\n2", "\n2 processes")
            for g in groups
        ]
    )
    left.set_ylabel("jobs/s (5,000 no-op jobs, median)")
    left.set_title("Queue throughput")
    left.legend()
    dbs = list(slow)
    ilios = [slow[d].get("median") or 0 for d in dbs]
    limit = [slow[d].get("limit_docs_per_s") or 0 for d in dbs]
    original = [slow[d].get("original_design_docs_per_s") or 0 for d in dbs]
    xs = range(len(dbs))
    right.bar([x - 0.25 for x in xs], original, 0.25, label="original design", color="#999999")
    right.bar(xs, ilios, 0.25, label="Ilios", color=COLORS["ilios"])
    right.bar(
        [x + 0.25 for x in xs], limit, 0.25, label="limit", color="#dddddd", edgecolor="#999999"
    )
    right.set_xticks(list(xs))
    right.set_xticklabels(dbs)
    right.set_ylabel("documents/s")
    right.set_title("Slow engine (0.5 s/doc, 2 × 16)")
    right.legend(fontsize=8, loc="lower center")
    machine = results.get("machine", {})
    fig.suptitle(
        f"Ilios benchmarks — {results.get('mode', {}).get('name')} mode, "
        f"{machine.get('cpus')} CPUs, {results.get('generated_at', '')}",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(target, dpi=110)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
