"""The thumbnail worker: sweeps for files without a thumbnail, claims a job, draws it outside any transaction.

The claim and the result are each their own unit of work; the drawing runs in between, in
bounded child processes (``render``). The lease is longer than the drawing's time bound, so a
worker killed with ``kill -9`` leaves a job that another worker claims once the lease expires.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from documents.models.thumbnails import ThumbnailJob, ThumbnailState
from documents.storage import Storage
from documents.thumbnails import queue
from documents.thumbnails.render import RenderSettings, ThumbnailError, make_thumbnail, thumbnail_path
from documents.unitofwork import unit_of_work

log = logging.getLogger(__name__)

SessionFactory = sessionmaker[Session]
#: Sub-folder of the data folder holding the thumbnails.
FOLDER = "thumbnails"


@dataclass(frozen=True)
class ThumbnailSettings:
    """Bounds of the worker: drawing bounds, pause when idle, how often it sweeps for missing thumbnails."""

    render: RenderSettings = field(default_factory=RenderSettings)
    interval: float = 1.0
    sweep_every: float = 10.0

    @property
    def lease_s(self) -> float:
        """Longer than the longest drawing (conversion then drawing, each bounded by the timeout)."""
        return 2 * self.render.timeout + 30.0


def worker_name() -> str:
    """This worker's name in the queue (host and process id)."""
    return f"{socket.gethostname()}:{os.getpid()}"


def process_one(factory: SessionFactory, storage: Storage, folder: Path, settings: ThumbnailSettings | None = None,
                *, worker: str | None = None) -> bool:
    """Claim and draw one thumbnail; False when the queue is empty."""
    settings = settings or ThumbnailSettings()
    worker = worker or worker_name()
    with unit_of_work(factory) as session:
        job = queue.claim(session, worker, lease_s=settings.lease_s)
        if job is None:
            return False
        job_id, sha, kind = job.id, job.sha256, job.kind
    error: ThumbnailError | None = None
    try:
        target = thumbnail_path(folder, sha)
        if not target.is_file():
            make_thumbnail(storage.local_path(sha), kind, target, settings.render)
    except ThumbnailError as exc:
        error = exc
    except Exception as exc:  # noqa: BLE001 - the job fails, the worker lives on
        log.exception("thumbnail %s crashed", sha[:12])
        error = ThumbnailError(f"Erreur inattendue ({type(exc).__name__})", retry=True)
    with unit_of_work(factory) as session:
        job = session.get(ThumbnailJob, job_id)
        if job is None or job.state != ThumbnailState.RUNNING.value or job.worker != worker[:120]:
            log.warning("thumbnail job %s was taken over by another worker", job_id)
            return True
        if error is None:
            queue.complete(session, job)
        else:
            queue.fail(session, job, error.reason, retry=error.retry)
        state = job.state
    log.info("thumbnail %s (%s): %s%s", sha[:12], kind, state, f" ({error.reason})" if error else "")
    return True


def run_thumbnail_worker(factory: SessionFactory, storage: Storage, folder: Path,
                         settings: ThumbnailSettings | None = None, *, stop: threading.Event | None = None,
                         once: bool = False) -> int:
    """Sweep and drain the queue until ``stop`` is set (or, with ``once``, until it is empty); jobs done."""
    settings = settings or ThumbnailSettings()
    stop = stop or threading.Event()
    worker = worker_name()
    done = 0
    last_sweep = 0.0
    while not stop.is_set():
        try:
            if time.monotonic() - last_sweep >= settings.sweep_every or once:
                # New versions are queued by the archive's verbs; the sweep catches any other path.
                with unit_of_work(factory) as session:
                    queue.sweep(session)
                last_sweep = time.monotonic()
            handled = process_one(factory, storage, folder, settings, worker=worker)
        except Exception:  # noqa: BLE001 - the loop must outlive a bad cycle (database restart, disk)
            log.exception("thumbnail worker cycle failed")
            handled = False
            if once:
                raise
        done += handled
        if not handled:
            if once:
                break
            stop.wait(settings.interval)
    return done
