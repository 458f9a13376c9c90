"""``python -m intranet <command>``: the ``intranet`` command line, as the supervisor starts workers.

Under ``python -m intranet.serve`` each worker is started with ``INTRANET_SUPERVISOR_PID`` set: the
worker then asks Linux to send it SIGTERM when the supervisor dies, so that a killed supervisor
leaves no orphan indexer holding the index lock.
"""

from __future__ import annotations

import os
import signal
import sys

SUPERVISOR_PID = "INTRANET_SUPERVISOR_PID"


def _die_with_supervisor() -> None:
    expected = os.environ.get(SUPERVISOR_PID)
    if not expected or not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, int(signal.SIGTERM), 0, 0, 0)
    except (OSError, AttributeError):  # not glibc: the supervisor still stops us on a clean exit
        return
    if str(os.getppid()) != expected:
        # The supervisor died before prctl took effect.
        raise SystemExit(0)


if __name__ == "__main__":
    _die_with_supervisor()
    from intranet.cli import main

    main()
