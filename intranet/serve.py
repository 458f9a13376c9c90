"""``make run``: gunicorn for the web workers, plus the background workers beside them.

Features register long-running companions (the search indexer, for instance) in
``COMPANIONS``; each runs in its own process and is stopped with gunicorn.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import signal
import sys
from collections.abc import Callable

#: (name, target) of processes to run beside the web workers.
COMPANIONS: list[tuple[str, Callable[[], None]]] = []


def main(argv: list[str] | None = None) -> int:
    """Start companions, then gunicorn in the foreground."""
    parser = argparse.ArgumentParser(description="Sert l'intranet avec gunicorn.")
    parser.add_argument("--bind", default="127.0.0.1:5000")
    parser.add_argument("--workers", type=int, default=3)
    args = parser.parse_args(argv)

    from intranet import companions  # noqa: F401  (fills COMPANIONS)

    children = []
    for name, target in COMPANIONS:
        proc = multiprocessing.get_context("spawn").Process(target=target, name=name, daemon=True)
        proc.start()
        children.append(proc)
    try:
        from gunicorn.app.wsgiapp import run

        sys.argv = ["gunicorn", "--bind", args.bind, "--workers", str(args.workers),
                    "--access-logfile", "-", "--logger-class", "intranet.accesslog.RedactingLogger",
                    "--timeout", "120", "wsgi:app"]
        run()
    finally:
        for proc in children:
            if proc.is_alive():
                os.kill(proc.pid, signal.SIGTERM)
                proc.join(5)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
