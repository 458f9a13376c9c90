"""What the benchmarks share: latency samples, their percentiles, and the app a benchmark serves from.

Imported by the scripts of this folder (run as ``.venv/bin/python bench/<name>.py``, so this
folder is on the path).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))]


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    """Milliseconds of ``repeat`` calls after one warm-up call (caches, first searcher)."""
    fn()
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def bench_app(data: Path, url: str, **config: Any) -> Any:
    """The intranet app on the data folder ``data`` and the database ``url`` (testing mode, no CSRF)."""
    from intranet import create_app

    return create_app({
        "TESTING": True, "SECRET_KEY": "bench-" + "x" * 40, "DATA_DIR": str(data), "DATABASE_URL": url,
        "STORAGE_DIR": str(data / "files"), "INDEX_DIR": str(data / "index"),
        "MAIL_OUTBOX_DIR": str(data / "mail"), "WTF_CSRF_ENABLED": False, **config,
    })
