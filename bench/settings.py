"""Benchmark settings: the real settings plus a no-op engine and a bare view (bench/urls.py);
the local engine counted when BENCH_ENGINE_CALLS names a file.

Everything else, database and storage included, comes from the environment exactly as in
production, so the benchmarks measure the product's own configuration.
"""

import os

from bench import common

os.environ.setdefault("DATA_DIR", str(common.OUT / "data"))

from ilios.settings import *  # noqa: E402,F403
from ilios.settings import ENGINES  # noqa: E402

ENGINES = {**ENGINES, "noop": {"BACKEND": "bench.engines.NoopEngine", "PRICE_PER_PAGE": 0.0}}
if os.environ.get("BENCH_ENGINE_CALLS"):  # bench/cache.py counts the local engine's calls
    ENGINES["local"] = {**ENGINES["local"], "BACKEND": "bench.engines.CountedLocalEngine"}
ROOT_URLCONF = "bench.urls"
