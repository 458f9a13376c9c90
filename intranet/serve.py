"""``make run``: gunicorn for the web workers, plus the background workers beside them, supervised.

``python -m intranet.serve --bind HOST:PORT --workers N`` starts gunicorn and every worker declared
in ``intranet.background.WORKERS``, each as its own process. A worker that dies is restarted with
an exponential back-off (logged); when gunicorn stops, or this process gets SIGTERM or SIGINT,
everything is stopped (SIGTERM, then SIGKILL after a grace period).
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import time
from collections.abc import Sequence
from types import FrameType

from intranet.background import WORKERS, BackgroundWorker
from intranet.logs import configure_logging
from intranet.supervisor import GRACE, Supervisor

logger = logging.getLogger("intranet.serve")

#: gunicorn gets this long to finish its requests when stopping; the supervisor waits a little more.
GUNICORN_GRACEFUL = 20


def gunicorn_argv(bind: str, workers: int) -> list[str]:
    """The gunicorn command line of ``make run``."""
    return [sys.executable, "-m", "gunicorn", "--bind", bind, "--workers", str(workers),
            "--access-logfile", "-", "--logger-class", "intranet.accesslog.RedactingLogger",
            "--timeout", "120", "--graceful-timeout", str(GUNICORN_GRACEFUL),
            # Request lines between the app's own bound (4,094) and this one get the app's French 414.
            "--limit-request-line", "8190", "wsgi:app"]


def serve(bind: str, workers: int, *, background: Sequence[BackgroundWorker] = WORKERS,
          grace: float = GRACE + GUNICORN_GRACEFUL) -> int:
    """Run gunicorn and the background workers until gunicorn exits or a stop signal; gunicorn's exit code."""
    supervisor = Supervisor()
    web = supervisor.add("gunicorn", gunicorn_argv(bind, workers), restart=False)
    for worker in background:
        supervisor.add(worker.name, worker.argv())
    stop = {"signal": 0}

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stop["signal"] = signum

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        supervisor.start()
        while not stop["signal"]:
            supervisor.poll()
            if web.process is not None and web.process.poll() is not None:
                logger.warning("gunicorn exited with code %s: stopping the background workers",
                               web.process.returncode)
                break
            time.sleep(0.2)
        if stop["signal"]:
            logger.info("%s received: stopping", signal.Signals(stop["signal"]).name)
    finally:
        codes = supervisor.stop(grace)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    code = codes.get("gunicorn")
    return 0 if stop["signal"] or code is None else abs(code)


def main(argv: list[str] | None = None) -> int:
    """Parse the command line, configure logging, serve."""
    parser = argparse.ArgumentParser(description="Sert l'intranet avec gunicorn et ses processus d'arrière-plan.")
    parser.add_argument("--bind", default="127.0.0.1:5000")
    parser.add_argument("--workers", type=int, default=3)
    args = parser.parse_args(argv)
    configure_logging()
    return serve(args.bind, args.workers)


if __name__ == "__main__":
    raise SystemExit(main())
