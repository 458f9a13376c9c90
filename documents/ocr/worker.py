"""The OCR worker: claims a job, runs the bounded engine, stores the searchable copy, records the text.

The job's text, status and index-outbox row are committed in one transaction, so the search
index learns the recognised words like any other change. While the engine runs, a heartbeat
thread renews the job's lease; a worker killed with ``kill -9`` stops renewing it and the
job is claimed again once the lease expires.
"""

from __future__ import annotations

import logging
import os
import socket
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from documents import extraction
from documents.models.ocr import OcrJob, OcrState
from documents.ocr import engine, queue
from documents.storage import Storage, sha256_file
from documents.unitofwork import unit_of_work

log = logging.getLogger(__name__)

SessionFactory = Callable[[], Session]


@dataclass(frozen=True)
class OcrSettings:
    """Bounds and languages of the OCR (from the ``INTRANET_OCR_*`` settings)."""

    languages: str = engine.DEFAULT_LANGUAGES
    timeout: float = engine.DEFAULT_TIMEOUT
    page_timeout: float = engine.DEFAULT_PAGE_TIMEOUT
    memory_mb: int = engine.DEFAULT_MEMORY_MB
    max_pages: int = engine.MAX_PAGES
    max_pixels: int = engine.MAX_PIXELS
    lease_s: float = queue.DEFAULT_LEASE_S
    interval: float = 1.0


def worker_name() -> str:
    """This worker's name in the queue (host and process id)."""
    return f"{socket.gethostname()}:{os.getpid()}"


class _Heartbeat:
    """Renews a job's lease every third of it, in its own session, until stopped."""

    def __init__(self, factory: SessionFactory, job_id: int, worker: str, lease_s: float) -> None:
        self._stop = threading.Event()
        self._args = (factory, job_id, worker, lease_s)
        self._thread = threading.Thread(target=self._run, name="ocr-heartbeat", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        factory, job_id, worker, lease_s = self._args
        while not self._stop.wait(max(lease_s / 3, 0.2)):
            try:
                # Each renewal is its own unit of work: the lease must be visible to other workers at once.
                with unit_of_work(factory) as session:
                    if not queue.renew_lease(session, job_id, worker, lease_s=lease_s):
                        log.warning("OCR job %s: lease lost", job_id)
            except Exception:  # noqa: BLE001 - a missed beat is retried; the lease covers it
                log.exception("OCR heartbeat failed")
            finally:
                session.close()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def _read(storage: Storage, sha: str, kind: str, force: bool,
          settings: OcrSettings) -> queue.OcrResult | tuple[str, bool]:
    """Run the engine on a stored file; the result, or (French reason, worth retrying)."""
    with tempfile.TemporaryDirectory(prefix="intranet-ocr-copy-") as tmp:
        output = Path(tmp) / "copie.pdf"
        outcome = engine.run_ocr(
            storage.local_path(sha), kind, output, languages=settings.languages, force=force,
            timeout=settings.timeout, page_timeout=settings.page_timeout, memory_mb=settings.memory_mb,
            max_pages=settings.max_pages, max_pixels=settings.max_pixels)
        if outcome.status != "ok":
            return outcome.reason, outcome.retry
        # The copy's own text layer is the version's text: typed pages and recognised ones alike.
        read = extraction.extract_text(output, "pdf", max_pages=settings.max_pages)
        if read.status != "ok" or read.pages is None:
            return f"Copie avec texte illisible : {read.reason}", False
        copy_sha = sha256_file(output)
        storage.put_file(output, copy_sha)
        return queue.OcrResult(copy_sha256=copy_sha, text=read.text or "", pages=read.pages,
                               text_pages=read.text_pages or 0, ocr_pages=outcome.ocr_pages,
                               confidence=outcome.confidence)


def process_one(factory: SessionFactory, storage: Storage, settings: OcrSettings | None = None, *,
                worker: str | None = None) -> bool:
    """Claim and do one job; False when the queue is empty."""
    settings = settings or OcrSettings()
    worker = worker or worker_name()
    # The claim is one unit of work (a job failed for too many attempts is recorded even when
    # nothing is left to do); the OCR itself runs outside any transaction; its result is another.
    with unit_of_work(factory) as session:
        job = queue.claim(session, worker, lease_s=settings.lease_s)
        if job is None:
            return False
        job_id, sha, kind, force = job.id, job.version.sha256, job.version.kind, job.force
    log.info("OCR job %s: reading %s (%s)", job_id, sha[:12], kind)
    beat = _Heartbeat(factory, job_id, worker, settings.lease_s)
    try:
        outcome = _read(storage, sha, kind, force, settings)
    except Exception as exc:  # noqa: BLE001 - the job fails, the worker lives on
        log.exception("OCR job %s crashed", job_id)
        outcome = (f"Erreur inattendue ({type(exc).__name__})", True)
    finally:
        beat.stop()
    with unit_of_work(factory) as session:
        job = session.get(OcrJob, job_id)
        if job is None or job.state != OcrState.RUNNING.value or job.worker != worker[:120]:
            log.warning("OCR job %s was taken over by another worker: result dropped", job_id)
            return True
        if isinstance(outcome, queue.OcrResult):
            queue.complete(session, job, outcome)
        else:
            queue.fail(session, job, outcome[0], retry=outcome[1])
        state = job.state
    log.info("OCR job %s: %s", job_id, state)
    return True


def run_ocr_worker(factory: SessionFactory, storage: Storage, settings: OcrSettings | None = None, *,
                   stop: threading.Event | None = None, once: bool = False) -> int:
    """Drain the OCR queue until ``stop`` is set (or, with ``once``, until it is empty); jobs done."""
    settings = settings or OcrSettings()
    stop = stop or threading.Event()
    worker = worker_name()
    done = 0
    while not stop.is_set():
        try:
            handled = process_one(factory, storage, settings, worker=worker)
        except Exception:  # noqa: BLE001 - the loop must outlive a bad cycle (database restart, disk)
            log.exception("OCR worker cycle failed")
            handled = False
            if once:
                raise
        done += handled
        if not handled:
            if once:
                break
            stop.wait(settings.interval)
    return done
