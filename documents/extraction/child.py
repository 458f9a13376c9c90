"""The extraction worker's own side: a loop run in a bounded child process of ``ExtractionPool``.

The child is started with an empty environment, ``-I``, ``cwd=/``; before reading any job it
sets its hard limits (address space, CPU-time budget for its whole life, no file writes, no
core dump). Each job then narrows the soft limits to that job's bounds: the address space to
the job's memory cap, the CPU time to what the process has used so far plus the job's time
bound. A job that passes either ends the process (MemoryError, SIGXCPU), and its owner starts
a fresh one for the next file.

Requests and answers are JSON frames (``documents.workerpipe``): the parent never unpickles
what a process that parsed a hostile file sends.
"""

from __future__ import annotations

import json
import logging
import math
import os
import resource
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from documents.workerpipe import read_frame, write_frame


def _cpu_used() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _set_hard_limits(memory_mb: int, cpu_budget: int) -> None:
    memory = memory_mb * 1024 * 1024
    for kind, value in (
        (resource.RLIMIT_AS, (memory, memory)),
        (resource.RLIMIT_CPU, (cpu_budget, cpu_budget + 1)),
        (resource.RLIMIT_CORE, (0, 0)),
        # The worker writes no file; a parser trying to would be killed.
        (resource.RLIMIT_FSIZE, (0, 0)),
    ):
        resource.setrlimit(kind, value)


def _set_job_limits(memory_mb: int, timeout: float, hard_memory_mb: int, cpu_budget: int) -> None:
    memory = min(memory_mb, hard_memory_mb) * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, hard_memory_mb * 1024 * 1024))
    cpu = min(math.ceil(_cpu_used() + timeout) + 1, cpu_budget)
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu_budget + 1))


def _preload() -> None:
    # Imported once per worker rather than once per file: this is where the pool's speed comes from.
    import lxml.etree  # noqa: F401
    import pypdf  # noqa: F401

    from documents import filetypes  # noqa: F401


def main() -> None:
    """Serve extraction jobs on stdin/stdout until the parent closes the pipe."""
    memory_mb, cpu_budget = int(sys.argv[2]), int(sys.argv[3])
    inp, out = sys.stdin.buffer, os.fdopen(os.dup(1), "wb")
    # Keep fd 1 for the answers; anything a library prints goes to stderr instead.
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    logging.basicConfig(level=logging.ERROR, stream=sys.stderr)
    _preload()
    _set_hard_limits(memory_mb, cpu_budget)
    from documents.extraction.inline import extract_text_inline
    from documents.extraction.result import LIMIT_REASONS

    while True:
        frame = read_frame(inp)
        if frame is None:
            return
        job: dict[str, Any] = json.loads(frame)
        _set_job_limits(int(job["memory_mb"]), float(job["timeout"]), memory_mb, cpu_budget)
        result = extract_text_inline(
            Path(job["path"]), str(job["kind"]), max_chars=int(job["max_chars"]),
            max_pages=int(job["max_pages"]), timeout=float(job["timeout"]),
        )
        # The answer is built under the worker's own cap, not the job's.
        resource.setrlimit(resource.RLIMIT_AS, (memory_mb * 1024 * 1024,) * 2)
        fatal = result.reason in LIMIT_REASONS
        answer = {**asdict(result), "cpu": _cpu_used(), "fatal": fatal}
        write_frame(out, json.dumps(answer, ensure_ascii=False).encode("utf-8"))
        if fatal:
            return  # a bound was hit: this process's state is not trusted for the next file
