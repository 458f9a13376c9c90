"""Heartbeats of the background workers: one small JSON file per worker in the data folder.

A worker (the search indexer, for instance) calls ``beat`` at each cycle of its loop; the web
workers read the file to say truthfully whether it runs (``/sante``, « État du système », the
search page banner). A file rather than a database row: no migration, no write load on the
database every second, and it works the same on SQLite and PostgreSQL; it is written by one
process and replaced atomically (temporary file + rename), so a reader never sees half of it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

#: Sub-folder of the data folder holding ``<worker>.json``.
FOLDER = "heartbeats"
#: A heartbeat older than this (seconds) means the worker no longer runs.
DEFAULT_STALE_AFTER = 30.0
#: Values of ``state``: the loop runs normally, or a full index rebuild is in progress.
RUNNING = "running"
REBUILDING = "rebuilding"


@dataclass(frozen=True)
class Heartbeat:
    """The last sign of life of one worker."""

    name: str
    pid: int
    state: str
    at: dt.datetime  # aware, UTC
    started_at: dt.datetime | None

    def age(self, now: dt.datetime | None = None) -> float:
        """Seconds since the last beat (never negative)."""
        now = now or dt.datetime.now(dt.UTC)
        return max(0.0, (now - self.at).total_seconds())

    def is_fresh(self, now: dt.datetime | None = None, stale_after: float = DEFAULT_STALE_AFTER) -> bool:
        """True when the worker beat less than ``stale_after`` seconds ago."""
        return self.age(now) < stale_after


def path_for(data_dir: str | os.PathLike[str], name: str) -> Path:
    """The heartbeat file of worker ``name``."""
    if not name or not name.replace("-", "").replace("_", "").isalnum():
        raise ValueError(f"invalid worker name: {name!r}")
    return Path(data_dir) / FOLDER / f"{name}.json"


def beat(data_dir: str | os.PathLike[str], name: str, *, state: str = RUNNING,
         started_at: dt.datetime | None = None, now: dt.datetime | None = None) -> Heartbeat:
    """Record that worker ``name`` (this process) is alive, atomically."""
    now = now or dt.datetime.now(dt.UTC)
    beat_ = Heartbeat(name=name, pid=os.getpid(), state=state, at=now, started_at=started_at)
    path = path_for(data_dir, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"name": name, "pid": beat_.pid, "state": state, "at": now.isoformat(),
               "started_at": started_at.isoformat() if started_at else None}
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(payload, fh)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return beat_


def read(data_dir: str | os.PathLike[str], name: str) -> Heartbeat | None:
    """The last heartbeat of worker ``name``, or None if it never beat (or the file is unreadable)."""
    try:
        raw = json.loads(path_for(data_dir, name).read_text(encoding="utf-8"))
        at = dt.datetime.fromisoformat(raw["at"])
        started = dt.datetime.fromisoformat(raw["started_at"]) if raw.get("started_at") else None
        return Heartbeat(name=str(raw.get("name") or name), pid=int(raw["pid"]), state=str(raw.get("state") or RUNNING),
                         at=at if at.tzinfo else at.replace(tzinfo=dt.UTC), started_at=started)
    except (OSError, ValueError, KeyError, TypeError):
        return None


class Beater:
    """Beats for one worker, at most every ``every`` seconds unless the state changes."""

    def __init__(self, data_dir: str | os.PathLike[str], name: str, *, every: float = 2.0) -> None:
        self.data_dir = data_dir
        self.name = name
        self.every = every
        self.started_at = dt.datetime.now(dt.UTC)
        self._last = 0.0
        self._state = ""

    def __call__(self, state: str = RUNNING) -> None:
        """Record a beat if the last one is older than ``every`` or the state changed."""
        now = time.monotonic()
        if state == self._state and now - self._last < self.every:
            return
        try:
            beat(self.data_dir, self.name, state=state, started_at=self.started_at)
        except OSError:
            # A full disk must not kill the worker: /sante reports the stale heartbeat.
            return
        self._last, self._state = now, state
