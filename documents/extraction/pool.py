"""Bounded extraction in long-lived child processes: ``ExtractionPool`` and ``extract_text``.

A hostile file (zip bomb, PDF bomb, endless PDF, entity tricks) must fail its own extraction
only, never the importer or a web worker. Each file is therefore parsed in a child process
(``documents.extraction.child``) with an address-space cap, a CPU-time cap and a wall-clock
deadline. Starting a fresh interpreter per file cost ~130 ms of CPU for a ~20 ms parse, so the
children live on: a pool of them (one per core by default), each replaced

- after ``max_files`` files, or when its CPU budget could no longer cover a whole job;
- as soon as any bound is hit (memory, CPU time, wall-clock deadline), it crashes or is
  killed from outside (SIGKILL), or it answers anything but a well-formed reply.

A file that ends its worker is reported as failed with a French reason; the next file gets a
fresh worker. A worker found dead between two files (killed while idle) is replaced before
the next file is sent, so that file does not pay for it.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from documents.extraction.result import (
    DEFAULT_MAX_CHARS,
    DEFAULT_MEMORY_MB,
    DEFAULT_TIMEOUT,
    KINDS,
    MAX_PDF_PAGES,
    Extraction,
    failed,
)
from documents.workerpipe import Deadline, read_frame_before, write_frame

log = logging.getLogger(__name__)

#: Files a worker extracts before it is replaced (a parser's leaks or fragmentation stay bounded).
DEFAULT_MAX_FILES = 500
#: CPU seconds a worker may spend over its whole life (its hard RLIMIT_CPU).
DEFAULT_CPU_BUDGET = 600
#: Interpreter of the workers; under a server whose ``sys.executable`` is not Python (uWSGI), set it.
WORKER_PYTHON = sys.executable
_PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent
_CHILD_CODE = (
    "import sys; sys.path.insert(0, sys.argv[1]); "
    "from documents.extraction.child import main; main()"
)
#: Room for the JSON around the text in an answer.
_ANSWER_SLACK = 64 * 1024

BUSY_REASON = "Extraction impossible pour le moment (serveur surchargé) : texte non indexé"
CRASH_REASON = "Extraction abandonnée (mémoire insuffisante ou fichier corrompu) : texte non indexé"


def timeout_reason(timeout: float) -> str:
    """Why a file whose extraction overran its wall-clock bound has no text."""
    return f"Extraction interrompue après {timeout:g} s : texte non indexé"


def cpu_reason(timeout: float) -> str:
    """Why a file whose extraction used up its CPU time has no text."""
    return f"Extraction interrompue (temps de calcul dépassé, {timeout:g} s) : texte non indexé"


@dataclass(frozen=True)
class PoolSettings:
    """Size and bounds of a pool; ``workers`` 0 means one per CPU (``os.cpu_count()``)."""

    workers: int = 0
    max_files: int = DEFAULT_MAX_FILES
    memory_mb: int = DEFAULT_MEMORY_MB
    cpu_budget: int = DEFAULT_CPU_BUDGET

    @property
    def size(self) -> int:
        """Number of workers the pool may run at once."""
        return max(1, self.workers or os.cpu_count() or 1)


class _Worker:
    """One child process and what it has done so far."""

    def __init__(self, memory_mb: int, cpu_budget: int) -> None:
        self.memory_mb = memory_mb
        self.cpu_budget = cpu_budget
        self.jobs = 0
        self.cpu = 0.0
        # ``kill`` may be called by the pool's owner (close) and by the thread using the worker.
        self._lock = threading.Lock()
        self.proc = self._start()

    def _start(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [WORKER_PYTHON, "-I", "-c", _CHILD_CODE, str(_PROJECT_ROOT), str(self.memory_mb), str(self.cpu_budget)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=None,  # the child logs errors only; they join the importer's or the server's log
            # A minimal environment: the worker parses hostile files and has no use for our secrets.
            env={"PATH": os.environ.get("PATH", os.defpath), "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"},
            cwd="/",
            close_fds=True,
            start_new_session=True,  # its own process group, so a kill also stops catdoc/antiword
        )

    def restart(self) -> None:
        """Replace the child by a fresh one (same slot)."""
        self.kill()
        self.jobs, self.cpu = 0, 0.0
        self.proc = self._start()

    @property
    def pid(self) -> int:
        """Process id of the child."""
        return self.proc.pid

    def alive(self) -> bool:
        """True while the child runs."""
        return self.proc.poll() is None

    def kill(self) -> int | None:
        """Stop the child and its process group at once; its exit status."""
        with self._lock:
            if self.proc.returncode is None:
                # Only while the child is not reaped: its pid (the group's id) cannot have been reused.
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            code = self.proc.wait()
            for stream in (self.proc.stdin, self.proc.stdout):
                if stream is not None:
                    try:
                        stream.close()
                    except OSError:
                        pass
            return code


class ExtractionPool:
    """Long-lived bounded extraction workers, started on demand; thread-safe.

    ``extract`` runs one file on a free worker (the calling thread waits for its answer);
    ``submit`` does the same on the pool's own threads and returns a future, so that a
    caller can keep every worker busy while it files the previous documents. Close the pool
    (or use it as a context manager): no child outlives it.
    """

    def __init__(self, settings: PoolSettings | None = None) -> None:
        self.settings = settings or PoolSettings()
        self.size = self.settings.size
        self._cond = threading.Condition()
        self._idle: list[_Worker] = []
        self._all: set[_Worker] = set()
        self._busy = 0
        #: Workers being started: counted against the size before they join ``_all``.
        self._starting = 0
        self._closed = False
        self._executor: ThreadPoolExecutor | None = None
        #: Workers started so far (a test sees a worker replaced after a limit hit or ``max_files``).
        self.starts = 0

    def __enter__(self) -> ExtractionPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def pids(self) -> list[int]:
        """Process ids of the workers now running."""
        with self._cond:
            return sorted(w.pid for w in self._all if w.alive())

    def close(self) -> None:
        """Stop every worker (a busy one's file fails); the pool cannot be used afterwards."""
        with self._cond:
            self._closed = True
            workers = list(self._all)
            self._all.clear()
            self._idle.clear()
            executor, self._executor = self._executor, None
            self._cond.notify_all()
        for worker in workers:
            worker.kill()
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)

    def submit(self, path: Path, kind: str, **bounds: Any) -> Future[Extraction]:
        """``extract`` on one of the pool's threads (as many as workers)."""
        with self._cond:
            if self._closed:
                raise RuntimeError("extraction pool closed")
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=self.size, thread_name_prefix="extraction")
            executor = self._executor
        return executor.submit(self.extract, path, kind, **bounds)

    def extract(
        self,
        path: Path,
        kind: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        memory_mb: int | None = None,
        max_chars: int = DEFAULT_MAX_CHARS,
        max_pages: int = MAX_PDF_PAGES,
    ) -> Extraction:
        """Text of one file, extracted by a bounded worker; never raises for bad content."""
        if kind not in KINDS:
            return failed(f"Format « {kind} » inconnu : texte non indexé")
        path = Path(path).resolve()
        if not path.is_file():
            return failed("Fichier introuvable : texte non indexé")
        memory_mb = memory_mb or self.settings.memory_mb
        job = {"path": str(path), "kind": kind, "timeout": float(timeout), "memory_mb": memory_mb,
               "max_chars": max_chars, "max_pages": max_pages}
        try:
            worker = self._acquire(memory_mb, deadline=time.monotonic() + timeout)
        except OSError as exc:
            # Out of processes or file descriptors: the document is still kept, to be reindexed later.
            log.error("cannot start an extraction worker: %r", exc)
            return failed(BUSY_REASON)
        if worker is None:
            return failed(BUSY_REASON)
        keep = False
        try:
            result, keep = self._run(worker, job, path.name)
            return result
        finally:
            self._release(worker, keep=keep)

    # ------------------------------------------------------------------ workers

    def _spawn(self, memory_mb: int) -> _Worker:
        try:
            worker = _Worker(max(memory_mb, self.settings.memory_mb), self.settings.cpu_budget)
        finally:
            with self._cond:
                self._starting -= 1
        with self._cond:
            self.starts += 1
            if self._closed:  # closed while we were starting it
                self._all.discard(worker)
            else:
                self._all.add(worker)
                return worker
        worker.kill()
        raise OSError("extraction pool closed")

    def _acquire(self, memory_mb: int, *, deadline: float) -> _Worker | None:
        stale: list[_Worker] = []
        try:
            with self._cond:
                while True:
                    if self._closed:
                        return None
                    while self._idle:
                        worker = self._idle.pop()
                        if worker.alive() and worker.memory_mb >= memory_mb:
                            self._busy += 1
                            return worker
                        # Died while idle (killed, CPU budget) or too small for this job: replace it.
                        self._all.discard(worker)
                        stale.append(worker)
                    if len(self._all) + self._starting < self.size:
                        self._busy += 1
                        self._starting += 1
                        break
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        return None
                    self._cond.wait(remaining)
        finally:
            for worker in stale:
                worker.kill()
        try:
            return self._spawn(memory_mb)
        except BaseException:
            with self._cond:
                self._busy -= 1
                self._cond.notify()
            raise

    def _release(self, worker: _Worker, *, keep: bool) -> None:
        with self._cond:
            self._busy -= 1
            if keep and not self._closed and worker in self._all:
                self._idle.append(worker)
            else:
                self._all.discard(worker)
                keep = False
            self._cond.notify()
        if not keep:
            worker.kill()

    def _run(self, worker: _Worker, job: dict[str, Any], name: str) -> tuple[Extraction, bool]:
        """(result, whether the worker may take another file)."""
        timeout = float(job["timeout"])
        assert worker.proc.stdin is not None
        request = json.dumps(job).encode("utf-8")
        try:
            write_frame(worker.proc.stdin, request)
        except OSError:
            # The worker died before reading the file (killed while idle): not this file's fault.
            try:
                worker.restart()
                with self._cond:
                    self.starts += 1
                assert worker.proc.stdin is not None
                write_frame(worker.proc.stdin, request)
            except OSError:
                return failed(BUSY_REASON), False
        assert worker.proc.stdout is not None
        deadline = time.monotonic() + timeout
        limit = 6 * int(job["max_chars"]) + _ANSWER_SLACK
        try:
            frame = read_frame_before(worker.proc.stdout.fileno(), deadline, max_size=limit)
        except Deadline:
            worker.kill()
            log.info("extraction of %s stopped after %s s", name, timeout)
            return failed(timeout_reason(timeout)), False
        except OSError:
            frame = None
        answer = _parse_answer(frame)
        if answer is None:
            code = worker.kill()
            log.warning("extraction worker for %s ended with %s", name, code)
            if code == -signal.SIGXCPU:
                return failed(cpu_reason(timeout)), False
            return failed(CRASH_REASON), False
        result, fatal, cpu = answer
        worker.jobs += 1
        worker.cpu = cpu
        spent = worker.jobs >= self.settings.max_files or cpu + timeout + 1 > self.settings.cpu_budget
        return result, not (fatal or spent)


def _parse_answer(frame: bytes | None) -> tuple[Extraction, bool, float] | None:
    if frame is None:
        return None
    try:
        payload = json.loads(frame.decode("utf-8"))
        if payload["status"] not in {"ok", "failed"}:
            raise ValueError(payload["status"])
        for name in ("text", "reason"):
            if payload[name] is not None and not isinstance(payload[name], str):
                raise TypeError(name)
        for name in ("pages", "text_pages"):
            if payload.get(name) is not None and not isinstance(payload[name], int):
                raise TypeError(name)
        result = Extraction(text=payload["text"], status=payload["status"], reason=payload["reason"],
                            pages=payload["pages"], text_pages=payload.get("text_pages"))
        return result, bool(payload.get("fatal")), float(payload.get("cpu") or 0.0)
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        return None


# ---------------------------------------------------------------------- this process's pool

_SHARED: dict[int, ExtractionPool] = {}
_SHARED_SETTINGS = PoolSettings()
_SHARED_LOCK = threading.Lock()


def configure(settings: PoolSettings) -> None:
    """Settings of this process's shared pool (the web app's, from its configuration)."""
    global _SHARED_SETTINGS
    with _SHARED_LOCK:
        if settings == _SHARED_SETTINGS:
            return
        _SHARED_SETTINGS = settings
        old = _SHARED.pop(os.getpid(), None)
    if old is not None:
        old.close()


def shared_pool() -> ExtractionPool:
    """This process's pool (one per PID, so a forked web worker starts its own children)."""
    pid = os.getpid()
    with _SHARED_LOCK:
        pool = _SHARED.get(pid)
        if pool is None:
            pool = _SHARED[pid] = ExtractionPool(_SHARED_SETTINGS)
            atexit.register(pool.close)
    return pool


def extract_text(
    path: Path,
    kind: str,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    memory_mb: int = DEFAULT_MEMORY_MB,
    max_chars: int = DEFAULT_MAX_CHARS,
    max_pages: int = MAX_PDF_PAGES,
) -> Extraction:
    """Extract text in a worker bounded in memory, CPU and wall-clock time; never raises for bad content."""
    return shared_pool().extract(path, kind, timeout=timeout, memory_mb=memory_mb, max_chars=max_chars,
                                 max_pages=max_pages)
