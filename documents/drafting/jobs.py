"""Batches run in the background: start, run, follow."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from documents import audit, permissions
from documents.errors import DomainError, NotFound, PermissionDenied, ValidationError
from documents.generation import RenderWorker
from documents.models import (
    BatchStatus,
    DraftingBatch,
    User,
)
from documents.storage import Storage

#: One logger for the whole package, named as before the split.
logger = logging.getLogger("documents.drafting")

from documents.drafting.batch import NOTHING_PRODUCED, generate_batch  # noqa: E402 - after the logger the modules share
from documents.drafting.constants import STALE_BATCH  # noqa: E402 - after the logger the modules share
from documents.drafting.drafts import _plain_raw  # noqa: E402 - after the logger the modules share
from documents.drafting.errors import DraftingError  # noqa: E402 - after the logger the modules share
from documents.drafting.templates import TemplateInfo, get_template  # noqa: E402 - after the logger the modules share

# --------------------------------------------------------------------------- background batch jobs


def start_batch(
    session: Session,
    *,
    actor: User | None,
    template: TemplateInfo,
    year: int,
    region_codes: list[str],
    common: dict[str, Any],
    rows: dict[str, dict[str, Any]],
    ip: str = "",
) -> DraftingBatch:
    """Record a batch job (run it with ``run_batch``, e.g. in a background thread)."""
    if not permissions.can_write_anything(actor):
        raise PermissionDenied("Votre compte est en lecture seule.")
    if not region_codes:
        raise ValidationError("Choisissez au moins une région.", errors={"regions": "Aucune région choisie."})
    refused = [c for c in region_codes if not permissions.can_write_region(actor, c)]
    if refused:
        raise PermissionDenied(f"Vous ne pouvez pas rédiger pour la région {refused[0]}.")
    batch = DraftingBatch(
        template_document_id=template.id, year=year, status=BatchStatus.EN_ATTENTE.value,
        total=len(region_codes), done=0, message="En attente de démarrage…",
        inputs={"common": _plain_raw(common), "rows": _plain_raw(rows), "regions": list(region_codes)},
        created_by_id=actor.id if actor else None,
    )
    session.add(batch)
    session.flush()
    audit.record(session, "drafting.batch_start", actor=actor, object_type="batch", object_id=batch.id, ip=ip,
                 details={"template": template.slug, "year": year, "regions": list(region_codes)})
    session.flush()
    return batch


def batch_zip_path(batch_dir: Path, batch: DraftingBatch) -> Path:
    """Where the ZIP of a batch is written."""
    return Path(batch_dir) / f"lot-{batch.id}.zip"


def run_batch(session: Session, storage: Storage, batch_id: int, batch_dir: Path, *,
              worker: RenderWorker | None = None, checkpoint: Callable[[], None] | None = None) -> DraftingBatch:
    """Run a recorded batch job, updating its progress row as regions are done.

    ``checkpoint`` is the job's commit, called at each step so that the progress page sees it
    (the background thread passes ``session.commit``); without it all stays in the caller's unit of work.
    """

    def durable() -> None:
        session.flush()
        if checkpoint is not None:
            checkpoint()

    batch = session.get(DraftingBatch, batch_id)
    if batch is None:
        raise NotFound("Lot introuvable.")
    actor = session.get(User, batch.created_by_id) if batch.created_by_id else None
    batch.status = BatchStatus.EN_COURS.value
    batch.updated_at = dt.datetime.now(dt.UTC)
    durable()

    def progress(done: int, total: int, region_name: str) -> None:
        row = session.get(DraftingBatch, batch_id)
        assert row is not None
        row.done, row.total = done, total
        row.message = f"{done} / {total} – {region_name}" if region_name else f"{done} / {total}"
        row.updated_at = dt.datetime.now(dt.UTC)
        durable()

    try:
        if batch.template_document_id is None:
            raise DraftingError("Le modèle de ce lot a été supprimé.")
        template = get_template(session, storage, batch.template_document_id)
        inputs = batch.inputs or {}
        result = generate_batch(
            session, storage, actor=actor, template=template, year=batch.year or dt.date.today().year,
            out_path=batch_zip_path(batch_dir, batch), region_codes=inputs.get("regions") or [],
            common=inputs.get("common") or {}, rows=inputs.get("rows") or {}, progress=progress,
            worker=worker, batch_id=batch_id,
        )
    except Exception as exc:  # noqa: BLE001 - a background job reports its failure in its row
        logger.exception("batch %s failed", batch_id)
        session.rollback()
        row = session.get(DraftingBatch, batch_id)
        assert row is not None
        row.status = BatchStatus.ECHEC.value
        row.message = exc.message if isinstance(exc, DomainError) else \
            f"Le lot s'est arrêté sur une erreur inattendue ({type(exc).__name__})."
        row.finished_at = row.updated_at = dt.datetime.now(dt.UTC)
        durable()
        return row
    row = session.get(DraftingBatch, batch_id)
    assert row is not None
    row.status = BatchStatus.TERMINE.value
    row.report = [o.as_dict() for o in result.outcomes]
    row.zip_name = result.zip_path.name if result.zip_path is not None else ""
    produced, skipped = len(result.produced), len(result.skipped)
    row.message = f"{produced} brouillon{'s' if produced > 1 else ''} classé{'s' if produced > 1 else ''}" + (
        f", {skipped} région{'s' if skipped > 1 else ''} signalée{'s' if skipped > 1 else ''} et ignorée"
        f"{'s' if skipped > 1 else ''}." if skipped else ".")
    if not produced and skipped:
        row.message = NOTHING_PRODUCED
    row.done = row.total
    row.finished_at = row.updated_at = dt.datetime.now(dt.UTC)
    durable()
    return row


def get_batch(session: Session, user: User | None, batch_id: int) -> DraftingBatch:
    """A batch the user started (admins see all); NotFound otherwise."""
    batch = session.get(DraftingBatch, batch_id)
    if batch is None or not (permissions.is_admin(user) or (user is not None and batch.created_by_id == user.id)):
        raise NotFound("Lot introuvable.")
    return batch


def batch_interrupted(batch: DraftingBatch) -> bool:
    """True when a running batch has not moved for ``STALE_BATCH`` (its process was stopped)."""
    if batch.finished:
        return False
    updated = batch.updated_at if batch.updated_at.tzinfo else batch.updated_at.replace(tzinfo=dt.UTC)
    return dt.datetime.now(dt.UTC) - updated > STALE_BATCH
