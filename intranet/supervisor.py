"""A small process supervisor: start child processes, restart them with a back-off, stop them.

Used by ``python -m intranet.serve`` for gunicorn and the background workers. Single-threaded
on purpose: the caller polls it from its main loop, so no thread races a ``fork``.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

logger = logging.getLogger(__name__)

#: First restart delay, its ceiling, and how long a child must live for its failures to be forgotten.
BASE_DELAY = 1.0
MAX_DELAY = 60.0
STABLE_AFTER = 60.0
#: Seconds between SIGTERM and SIGKILL when stopping.
GRACE = 10.0


def backoff_delay(failures: int, *, base: float = BASE_DELAY, cap: float = MAX_DELAY) -> float:
    """Seconds to wait before restart number ``failures`` (1, 2, 4, … up to ``cap``)."""
    if failures <= 0:
        return 0.0
    return min(cap, base * 2 ** min(failures - 1, 30))


@dataclass
class Child:
    """One supervised process and its restart bookkeeping."""

    name: str
    argv: Sequence[str]
    restart: bool = True
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    failures: int = 0
    restarts: int = 0
    next_start: float | None = None  # when a dead child is due to be started again
    exit_codes: list[int] = field(default_factory=list)

    @property
    def pid(self) -> int | None:
        """The pid of the running process, if any."""
        return self.process.pid if self.process is not None and self.process.poll() is None else None


class Supervisor:
    """Start, watch, restart and stop a set of child processes."""

    def __init__(self, *, env: Mapping[str, str] | None = None, base_delay: float = BASE_DELAY,
                 max_delay: float = MAX_DELAY, stable_after: float = STABLE_AFTER,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.env = dict(os.environ if env is None else env)
        self.env["INTRANET_SUPERVISOR_PID"] = str(os.getpid())
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.stable_after = stable_after
        self.clock = clock
        self.children: dict[str, Child] = {}
        self.stopping = False

    def add(self, name: str, argv: Sequence[str], *, restart: bool = True) -> Child:
        """Declare a child (started by ``start``); ``restart=False`` for one that must not come back."""
        if name in self.children:
            raise ValueError(f"duplicate child name: {name}")
        child = Child(name=name, argv=list(argv), restart=restart)
        self.children[name] = child
        return child

    def _spawn(self, child: Child) -> None:
        child.process = subprocess.Popen(list(child.argv), env=self.env)
        child.started_at = self.clock()
        child.next_start = None
        logger.info("started %s (pid %d)", child.name, child.process.pid)

    def start(self) -> None:
        """Start every declared child."""
        for child in self.children.values():
            self._spawn(child)

    def poll(self) -> list[Child]:
        """Notice children that exited (scheduling their restart) and start those that are due.

        Returns the children that exited during this call.
        """
        exited = []
        now = self.clock()
        for child in self.children.values():
            proc = child.process
            if proc is not None and child.next_start is None:
                code = proc.poll()
                if code is None:
                    continue
                exited.append(child)
                child.exit_codes.append(code)
                if now - child.started_at >= self.stable_after:
                    child.failures = 0  # it ran well for a while: start again from the short delay
                child.failures += 1
                if not child.restart or self.stopping:
                    logger.warning("%s (pid %d) exited with code %d", child.name, proc.pid, code)
                    child.next_start = float("inf")
                    continue
                delay = backoff_delay(child.failures, base=self.base_delay, cap=self.max_delay)
                child.next_start = now + delay
                logger.warning("%s (pid %d) exited with code %d; restart in %.0f s (failure %d in a row)",
                               child.name, proc.pid, code, delay, child.failures)
            if child.next_start is not None and child.next_start <= now and not self.stopping:
                child.restarts += 1
                self._spawn(child)
        return exited

    def stop(self, grace: float = GRACE) -> dict[str, int | None]:
        """SIGTERM every live child, SIGKILL those still alive after ``grace`` seconds; their exit codes."""
        self.stopping = True
        live = [c for c in self.children.values() if c.process is not None and c.process.poll() is None]
        for child in live:
            assert child.process is not None
            logger.info("stopping %s (pid %d)", child.name, child.process.pid)
            _signal(child.process, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for child in live:
            assert child.process is not None
            try:
                child.process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                logger.warning("%s (pid %d) did not stop within %.0f s: killed", child.name,
                               child.process.pid, grace)
                _signal(child.process, signal.SIGKILL)
                child.process.wait()
        return {c.name: (c.process.returncode if c.process is not None else None) for c in self.children.values()}


def _signal(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    try:
        process.send_signal(sig)
    except ProcessLookupError:  # exited between poll() and the signal
        pass
