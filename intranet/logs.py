"""Logging for every process of the intranet: one format, on stderr, level from the environment.

The web workers (``wsgi.py``), the ``intranet`` command line, ``python -m intranet.serve`` and
the background workers all call ``configure_logging``: without it ``logger.info`` in a web
worker goes nowhere (gunicorn only configures its own loggers).
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping

#: Environment variable holding the level (DEBUG, INFO, WARNING, ERROR); INFO when unset.
LEVEL_VARIABLE = "INTRANET_LOG_LEVEL"
FORMAT = "%(asctime)s [%(process)d] %(levelname)s %(name)s: %(message)s"
DATE_FORMAT = "%Y-%m-%d %H:%M:%S%z"
_MARK = "_intranet_handler"


def level_from_env(environ: Mapping[str, str] | None = None) -> tuple[int, str | None]:
    """The level named by ``INTRANET_LOG_LEVEL`` and, for an unknown name, the problem to log."""
    environ = os.environ if environ is None else environ
    name = (environ.get(LEVEL_VARIABLE) or "INFO").strip().upper()
    level = logging.getLevelNamesMapping().get(name)
    if level is None:
        return logging.INFO, f"{LEVEL_VARIABLE}={name!r} is not a logging level; using INFO"
    return level, None


def configure_logging(environ: Mapping[str, str] | None = None) -> None:
    """Send every logger to stderr with the shared format; idempotent (a second call only sets the level)."""
    level, problem = level_from_env(environ)
    root = logging.getLogger()
    root.setLevel(level)
    if not any(getattr(h, _MARK, False) for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(FORMAT, DATE_FORMAT))
        setattr(handler, _MARK, True)
        root.addHandler(handler)
        # Alembic announces each of its plugins at INFO whenever a process first loads it.
        logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
        if problem:  # once per process, not at every call
            logging.getLogger(__name__).warning(problem)
