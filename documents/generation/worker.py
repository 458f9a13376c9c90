"""A long-lived sandboxed render process (``RenderWorker``) and its pipe protocol."""

from __future__ import annotations

import gc
import io
import json
import os
import pickle
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from typing import Any

from jinja2 import Template

from documents.generation.analysis import ParsedModel
from documents.generation.errors import TemplateError
from documents.generation.limits import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_MEMORY,
    DEFAULT_TIMEOUT,
)
from documents.generation.oneshot import _deterministic_zip, _spawn_worker
from documents.generation.rendering import (
    _render_failure,
    _render_in_process,
    _too_large_message,
)
from documents.generation.sandbox import _Sandbox
from documents.generation.values import plain_context
from documents.workerpipe import Deadline, read_before, read_exact, read_frame, write_frame

# --------------------------------------------------------------------------- reusable worker
#
# ``oneshot.render`` starts a fresh interpreter per document: ~150-200 ms of start-up and
# imports for a 25-90 ms render. ``RenderWorker`` keeps one sandboxed worker process alive
# and sends it jobs over a pipe. What stays the same: the worker runs with an empty
# environment, ``-I``, ``cwd=/``, no file writes (RLIMIT_FSIZE 0) and an address-space
# cap; each job has its own wall-clock bound (the parent kills the worker when a job
# overruns it and starts a new one for the next job); output size is bounded the same way.
# What changes, and why it is acceptable:
# - RLIMIT_CPU counts the whole life of a process, so it becomes a budget for the worker:
#   the parent retires the worker before the budget could cut a job short, and also after
#   ``max_jobs`` jobs or any failure that is not a plain template error (MemoryError…).
# - Jobs share a process. A template that escaped the sandbox could tamper with later jobs
#   of the same worker (it still sees no secret: empty environment, no database); templates
#   are uploaded by administrators only and checked at upload, and workers are recycled.
# - The worker caches, per template (by SHA-256 of its bytes): the fact that it passed the
#   pre-render checks, and the compiled Jinja code of each part. Both depend only on the
#   template bytes, so a cache hit renders exactly what a fresh process would.
# Replies are never unpickled by the parent: a JSON header plus raw bytes, so even a
# compromised worker cannot run code in the web process.

#: CPU seconds a worker may spend before it is replaced (its RLIMIT_CPU is a bit above).
DEFAULT_WORKER_CPU_BUDGET = 300
#: Jobs a worker runs before it is replaced.
DEFAULT_WORKER_MAX_JOBS = 1000
#: Templates (and their compiled parts) a worker keeps in memory.
WORKER_TEMPLATE_CACHE = 8

_LOOP_CODE = (
    "import sys; sys.path.insert(0, sys.argv[1]); "
    "from documents.generation.worker import _worker_loop; _worker_loop()"
)


@dataclass
class RenderResult:
    """A rendered .docx and, when asked for, its plain text (for the search index)."""

    data: bytes
    text: str | None = None
    text_reason: str = ""


class _CachingSandbox(_Sandbox):
    """The sandbox, remembering compiled templates by source (one worker, many renders)."""

    def __init__(self, *, autoescape: bool = True, max_output: int = DEFAULT_MAX_BYTES, size: int = 64) -> None:
        super().__init__(autoescape=autoescape, max_output=max_output)
        self._compiled: dict[str, Template] = {}
        self._size = size

    def from_string(self, source: Any, globals: Any = None, template_class: Any = None) -> Any:  # noqa: A002
        """Compile once per distinct source; the compiled code is reused by later renders."""
        if globals is not None or template_class is not None or not isinstance(source, str):
            return super().from_string(source, globals, template_class)
        compiled = self._compiled.get(source)
        if compiled is None:
            compiled = super().from_string(source)
            if len(self._compiled) >= self._size:
                self._compiled.pop(next(iter(self._compiled)))
            self._compiled[source] = compiled
        return compiled


# The frame helpers are shared with the extraction pool (documents.workerpipe).
_write_frame = write_frame
_read_exact = read_exact
_read_frame = read_frame


def _docx_plain_text(data: bytes) -> tuple[str | None, str]:
    """Text of a rendered .docx, as the archive's extraction would read it (inside the worker)."""
    from documents.extraction.inline import clean_text
    from documents.extraction.office import docx_text

    class _InMemory(io.BytesIO):
        name = "brouillon.docx"

        def stat(self) -> Any:
            return os.stat_result((0, 0, 0, 0, 0, 0, len(self.getvalue()), 0, 0, 0))

    try:
        text = clean_text(docx_text(_InMemory(data)))  # type: ignore[arg-type]  # python-docx reads any binary file object; it is typed as a path or IO[bytes]
    except Exception as exc:  # noqa: BLE001 - the draft is kept; only its text is missing
        return None, f"Extraction impossible ({type(exc).__name__}) : texte non indexé."
    return text, ""


def _worker_loop() -> None:
    """Entry point of a long-lived worker: pickled jobs in, JSON header + bytes out."""
    import resource

    inp, out = sys.stdin.buffer, sys.stdout.buffer
    hello = _read_frame(inp)
    if hello is None:
        return
    settings = pickle.loads(hello)
    budget = int(settings["cpu_budget"])
    limits = [
        (resource.RLIMIT_CPU, (budget + 5, budget + 6)),
        (resource.RLIMIT_AS, (int(settings["max_memory"]),) * 2),
        (resource.RLIMIT_FSIZE, (0, 0)),
        (resource.RLIMIT_CORE, (0, 0)),
    ]
    for kind, value in limits:
        try:
            resource.setrlimit(kind, value)
        except (ValueError, OSError):
            pass
    _deterministic_zip()
    templates: dict[str, ParsedModel] = {}
    envs: dict[int, tuple[_CachingSandbox, _CachingSandbox]] = {}

    def reply(header: dict[str, Any], data: bytes = b"") -> None:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        header["cpu"] = usage.ru_utime + usage.ru_stime
        blob = json.dumps(header, ensure_ascii=False).encode("utf-8")
        out.write(len(blob).to_bytes(8, "big") + blob + len(data).to_bytes(8, "big") + data)
        out.flush()

    while True:
        frame = _read_frame(inp)
        if frame is None:
            return
        request = pickle.loads(frame)
        key = request["key"]
        entry = templates.get(key)
        if entry is None:
            if request.get("template") is None:
                reply({"status": "missing"})
                continue
            if len(templates) >= WORKER_TEMPLATE_CACHE:
                templates.pop(next(iter(templates)))
                gc.unfreeze()  # let the next full collection free the evicted model (see below)
            entry = templates[key] = ParsedModel(request["template"])
        max_bytes = int(request["max_bytes"])
        if max_bytes not in envs:
            envs[max_bytes] = (
                _CachingSandbox(max_output=max_bytes),
                _CachingSandbox(autoescape=False, max_output=max_bytes),
            )
        env, property_env = envs[max_bytes]
        parsed_before = entry.pristine is not None
        try:
            data = _render_in_process(
                entry.data, request["context"], max_bytes=max_bytes,
                env=env, property_env=property_env, checked=entry.checked, parsed=entry,
            )
            entry.checked = True
            text, reason = _docx_plain_text(data) if request.get("with_text") else (None, "")
        except TemplateError as exc:
            reply({"status": "error", "error": {**exc.to_dict(), "status": exc.status}})
            continue
        except BaseException as exc:  # noqa: BLE001 - state may be damaged: answer, then exit
            message = _render_failure(exc if isinstance(exc, Exception) else RuntimeError(), "").message
            reply({"status": "error", "fatal": True, "error": {"message": message}})
            return
        reply({"status": "ok", "text": text, "text_reason": reason}, data)
        if not parsed_before and entry.pristine is not None:
            # A model was parsed for the first time: move it (and everything else alive)
            # out of the collector's sight. Each full collection used to walk the kept
            # models' tens of thousands of objects, and with a render deep-copying one,
            # those collections fell on every other render of a model (+4 ms measured).
            gc.collect()
            gc.freeze()


class RenderWorker:
    """A long-lived sandboxed render process; thread-safe (one job at a time).

    ``render`` has the same bounds and errors as the module-level ``render`` but starts
    no process per document. Close it (or use it as a context manager) when done.
    """

    def __init__(
        self,
        *,
        max_memory: int = DEFAULT_MAX_MEMORY,
        cpu_budget: int = DEFAULT_WORKER_CPU_BUDGET,
        max_jobs: int = DEFAULT_WORKER_MAX_JOBS,
    ) -> None:
        import threading

        self.max_memory = max_memory
        self.cpu_budget = cpu_budget
        self.max_jobs = max_jobs
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._sent: set[str] = set()
        self._jobs = 0
        #: Workers started so far (a test can see that a runaway job got its worker replaced).
        self.starts = 0

    def __enter__(self) -> RenderWorker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def pid(self) -> int | None:
        """Process id of the current worker, if one runs."""
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    def close(self) -> None:
        """Stop the worker process (a later job starts a new one)."""
        with self._lock:
            self._stop()

    def _start(self) -> subprocess.Popen[bytes]:
        proc = _spawn_worker(_LOOP_CODE, stderr=subprocess.DEVNULL)
        assert proc.stdin is not None
        _write_frame(proc.stdin, pickle.dumps({"cpu_budget": self.cpu_budget, "max_memory": self.max_memory}))
        self._proc, self._sent, self._jobs = proc, set(), 0
        self.starts += 1
        return proc

    def _stop(self) -> None:
        proc, self._proc = self._proc, None
        self._sent = set()
        if proc is None:
            return
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                stream.close()

    def _read(self, proc: subprocess.Popen[bytes], size: int, deadline: float) -> bytes | None:
        """``size`` bytes from the worker, or None if it died; TimeoutError once the deadline passed."""
        assert proc.stdout is not None
        try:
            return read_before(proc.stdout.fileno(), size, deadline)
        except Deadline:
            raise TimeoutError from None

    def _exchange(self, request: dict[str, Any], *, timeout: float, max_bytes: int) -> tuple[dict[str, Any], bytes]:
        import time

        proc = self._proc if self._proc is not None and self._proc.poll() is None else self._start()
        assert proc.stdin is not None
        deadline = time.monotonic() + timeout
        try:
            _write_frame(proc.stdin, pickle.dumps(request, protocol=pickle.HIGHEST_PROTOCOL))
            head = self._read(proc, 8, deadline)
            size = int.from_bytes(head, "big") if head else 0
            blob = self._read(proc, size, deadline) if head and size <= 16 * 1024 * 1024 else None
            data_head = self._read(proc, 8, deadline) if blob is not None else None
            data_size = int.from_bytes(data_head, "big") if data_head else 0
            if data_head is None or data_size > max_bytes + 1024:
                data = None
            else:
                data = self._read(proc, data_size, deadline)
        except TimeoutError:
            self._stop()
            raise TemplateError(
                f"La génération a été arrêtée après {timeout:g} secondes : le modèle contient "
                "probablement une boucle trop longue ou sans fin. Corrigez le modèle.",
            ) from None
        except (BrokenPipeError, OSError):
            blob = data = None
        if blob is None or data is None:
            self._stop()
            raise TemplateError(
                "La génération a été arrêtée : le modèle demande trop de temps de calcul ou de "
                "mémoire (boucle ou texte trop long). Corrigez le modèle."
            )
        try:
            header = json.loads(blob.decode("utf-8"))
            if not isinstance(header, dict):
                raise ValueError(header)
        except ValueError:
            self._stop()
            raise TemplateError("Le moteur de génération a répondu de façon inattendue.", status=500) from None
        return header, data

    def render(
        self,
        template_bytes: bytes,
        values: dict[str, Any],
        *,
        timeout: float = DEFAULT_TIMEOUT,
        max_bytes: int = DEFAULT_MAX_BYTES,
        with_text: bool = False,
    ) -> RenderResult:
        """Fill a Word model in the worker; the .docx bytes and, if asked, their text."""
        import hashlib

        context = plain_context(values)
        key = hashlib.sha256(template_bytes).hexdigest()
        with self._lock:
            for _attempt in range(2):
                if self._proc is not None and self._proc.poll() is not None:
                    self._stop()  # died between jobs (CPU budget, killed): start afresh
                request = {
                    "key": key, "template": None if key in self._sent else template_bytes,
                    "context": context, "max_bytes": max_bytes, "with_text": with_text,
                }
                header, data = self._exchange(request, timeout=timeout, max_bytes=max_bytes)
                if header.get("status") == "missing":
                    self._sent.discard(key)
                    continue
                self._sent.add(key)
                self._jobs += 1
                cpu = float(header.get("cpu") or 0)
                if header.get("fatal") or self._jobs >= self.max_jobs or cpu + timeout + 1 > self.cpu_budget:
                    self._stop()
                if header.get("status") != "ok":
                    error = header.get("error") or {}
                    raise TemplateError(
                        str(error.get("message") or "La génération a échoué."),
                        tag=error.get("tag"), status=error.get("status"),
                    )
                if len(data) > max_bytes:
                    raise TemplateError(_too_large_message(max_bytes))
                if not zipfile.is_zipfile(io.BytesIO(data)):
                    raise TemplateError("La génération n'a pas produit de document Word valide.", status=500)
                text = header.get("text")
                return RenderResult(
                    data=data, text=text if isinstance(text, str) else None,
                    text_reason=str(header.get("text_reason") or ""),
                )
        raise TemplateError("Le moteur de génération a perdu le modèle : réessayez.", status=500)

    def render_many(
        self,
        template_bytes: bytes,
        values_list: list[dict[str, Any]],
        *,
        timeout: float = DEFAULT_TIMEOUT,
        max_bytes: int = DEFAULT_MAX_BYTES,
        with_text: bool = False,
    ) -> list[RenderResult | TemplateError]:
        """Fill one model with many value sets (the template crosses the pipe once); errors in place."""
        results: list[RenderResult | TemplateError] = []
        for values in values_list:
            try:
                results.append(
                    self.render(template_bytes, values, timeout=timeout, max_bytes=max_bytes, with_text=with_text)
                )
            except TemplateError as exc:
                results.append(exc)
        return results


_SHARED_WORKERS: dict[int, RenderWorker] = {}


def shared_worker() -> RenderWorker:
    """This process's render worker (one per PID, so a forked web worker gets its own)."""
    import atexit

    pid = os.getpid()
    worker = _SHARED_WORKERS.get(pid)
    if worker is None:
        worker = _SHARED_WORKERS[pid] = RenderWorker()
        atexit.register(worker.close)
    return worker
