"""Length-prefixed frames over the pipes of a long-lived child process (render and extraction workers).

Both sides write ``8-byte big-endian length + payload``. The parent reads the child's answers
with a deadline (``read_before``): a child that hangs or answers too much is killed by its
owner, never waited on forever.
"""

from __future__ import annotations

import os
import select
import time
from typing import IO


class Deadline(Exception):
    """The child did not answer before the deadline."""


def write_frame(stream: IO[bytes], payload: bytes) -> None:
    """Send one frame and flush it."""
    stream.write(len(payload).to_bytes(8, "big") + payload)
    stream.flush()


def read_exact(stream: IO[bytes], size: int) -> bytes | None:
    """``size`` bytes from a blocking stream, or None at end of stream."""
    chunks: list[bytes] = []
    while size:
        chunk = stream.read(size)
        if not chunk:
            return None
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def read_frame(stream: IO[bytes]) -> bytes | None:
    """One frame from a blocking stream (the child's side), or None at end of stream."""
    head = read_exact(stream, 8)
    if head is None:
        return None
    return read_exact(stream, int.from_bytes(head, "big"))


def read_before(fd: int, size: int, deadline: float) -> bytes | None:
    """``size`` bytes from ``fd`` before ``deadline`` (``time.monotonic``); None if the child closed it.

    Raises ``Deadline`` when the time is up.
    """
    chunks: list[bytes] = []
    while size:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
            raise Deadline
        chunk = os.read(fd, min(size, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def read_frame_before(fd: int, deadline: float, *, max_size: int) -> bytes | None:
    """One frame from ``fd`` before ``deadline``; None if the child closed the pipe or announced more than ``max_size``."""
    head = read_before(fd, 8, deadline)
    if head is None:
        return None
    size = int.from_bytes(head, "big")
    if size > max_size:
        return None
    return read_before(fd, size, deadline)
