"""One draft per region in a single run, with a values grid or CSV."""

from __future__ import annotations

import csv
import dataclasses
import io
import os
import zipfile
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from documents import audit, generation, permissions
from documents.drafting.constants import MAX_CSV_BYTES, PER_REGION_FIELDS, SCALAR_TYPES
from documents.drafting.drafts import _file_draft, _Pending, _prepare
from documents.drafting.errors import ValuesInvalid
from documents.drafting.prefill import _city, prefill
from documents.drafting.templates import TemplateInfo, read_bytes
from documents.errors import DomainError, ValidationError
from documents.generation import FieldSpec, RenderWorker
from documents.models import (
    Region,
    User,
)
from documents.storage import Storage

# --------------------------------------------------------------------------- batch


def grid_fields(fields: list[FieldSpec]) -> list[FieldSpec]:
    """Fields asked per region in a batch grid: the amounts and a few per-region texts."""
    return [
        spec for spec in fields
        if not spec.computed and (spec.type == "montant" or spec.name in PER_REGION_FIELDS)
    ]


def common_fields(fields: list[FieldSpec]) -> list[FieldSpec]:
    """Fields given once for every region of a batch (the rest comes from the database)."""
    per_region = {s.name for s in grid_fields(fields)} | {"region", "region_nom"}
    return [
        spec for spec in fields
        if not spec.computed and spec.name not in per_region and spec.type in SCALAR_TYPES
    ]


@dataclass
class RegionOutcome:
    """What happened to one region of a batch."""

    region_code: str
    region_name: str
    status: str  # "ok", "invalide", "refusé", "échec"
    message: str = ""
    errors: dict[str, str] = field(default_factory=dict)
    document_id: int | None = None
    filename: str = ""

    def as_dict(self) -> dict[str, Any]:
        """JSON form (stored in the batch report)."""
        return dataclasses.asdict(self)


NOTHING_PRODUCED = (
    "Aucun brouillon n'a été produit : chaque région a échoué (détail ci-dessous). Complétez les valeurs "
    "manquantes dans Référentiel › Organisations (adresse, représentant et qualité de la DRAC et de la "
    "coordination, ou import du CSV des organisations), ou par région dans la grille du lot ou son CSV "
    "(colonnes drac.adresse, drac.representant, coordination_regionale.adresse…), puis relancez le lot."
)


@dataclass
class BatchResult:
    """A batch's ZIP (None when no region produced a draft) and its per-region report."""

    zip_path: Path | None
    outcomes: list[RegionOutcome]

    @property
    def produced(self) -> list[RegionOutcome]:
        """Regions whose draft was filed."""
        return [o for o in self.outcomes if o.status == "ok"]

    @property
    def skipped(self) -> list[RegionOutcome]:
        """Regions reported and skipped."""
        return [o for o in self.outcomes if o.status != "ok"]


def _merge(*layers: dict[str, Any]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for layer in layers:
        for name, value in layer.items():
            if value is None or (isinstance(value, str) and not value.strip()):
                continue
            if isinstance(value, dict) and isinstance(merged.get(name), dict):
                merged[name] = {**merged[name], **{k: v for k, v in value.items() if str(v).strip()}}
            else:
                merged[name] = value
    return merged


def generate_batch(
    session: Session,
    storage: Storage,
    *,
    actor: User | None,
    template: TemplateInfo,
    year: int,
    out_path: Path,
    region_codes: Iterable[str] | None = None,
    common: dict[str, Any] | None = None,
    rows: dict[str, dict[str, Any]] | None = None,
    prefilled: bool = True,
    progress: Callable[[int, int, str], None] | None = None,
    worker: RenderWorker | None = None,
    batch_id: int | None = None,
    ip: str = "",
) -> BatchResult:
    """One draft per region, filed and zipped; a region whose values fail is reported and skipped.

    ``region_codes`` None means every current region; values are, by
    priority: the region's row, ``common``, then the prefill (database, last year).
    """
    common = common or {}
    rows = rows or {}
    if region_codes is None:
        # « Toutes les régions » are today's 18: drafts are written for the current DRACs.
        codes = list(session.scalars(select(Region.code).where(Region.valid_until.is_(None)).order_by(Region.code)))
    else:
        codes = list(dict.fromkeys(str(c).strip() for c in region_codes if str(c).strip()))
    total = len(codes)
    outcomes: list[RegionOutcome] = []
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp_zip = out_path.with_name(out_path.name + ".part")
    # Pipelined: while the worker renders region N (a thread waits on its pipe), this thread
    # validates region N+1 and files region N-1, so rendering and filing overlap.
    data = read_bytes(storage, template.version)
    render_worker = worker or generation.shared_worker()
    slots: list[RegionOutcome | None] = []
    pending_job: tuple[int, _Pending, Future[generation.RenderResult]] | None = None

    def finish(job: tuple[int, _Pending, Future[generation.RenderResult]], bundle: zipfile.ZipFile) -> None:
        slot, pending, future = job
        region_name = pending.region.name if pending.region else str(pending.region_code)
        code = str(pending.region_code)
        try:
            rendered = future.result()
            # A savepoint per region: a refused draft undoes itself only, never the regions filed before.
            with session.begin_nested():
                draft = _file_draft(session, storage, pending, rendered, actor=actor, ip=ip)
        except DomainError as exc:
            slots[slot] = RegionOutcome(code, region_name, "échec", exc.message)
        else:
            bundle.writestr(draft.version.filename, rendered.data)
            slots[slot] = RegionOutcome(code, region_name, "ok", "Brouillon classé.",
                                        document_id=draft.document.id, filename=draft.version.filename)
        if progress is not None:
            progress(sum(1 for o in slots if o is not None), total, region_name)

    def render_job(values: dict[str, Any]) -> generation.RenderResult:
        return render_worker.render(data, values, with_text=True)

    with zipfile.ZipFile(tmp_zip, "w", zipfile.ZIP_DEFLATED) as bundle, \
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="rendu") as pool:
        if progress is not None:
            progress(0, total, "")
        for code in codes:
            slot = len(slots)
            slots.append(None)
            region = session.get(Region, code)
            name = region.name if region else code
            outcome: RegionOutcome | None = None
            job = None
            if region is None:
                outcome = RegionOutcome(code, code, "invalide", f"Aucune région n'a le code {code}.")
            elif not permissions.can_write_region(actor, code):
                outcome = RegionOutcome(code, name, "refusé", "Vous ne pouvez pas rédiger de brouillon pour cette région.")
            else:
                base = prefill(session, template, code, year) if prefilled else {}
                raw = _merge(base, common, rows.get(code, {}))
                if not raw.get("lieu_signature") and isinstance(raw.get("drac"), dict):
                    # The DRAC's address given in the row (not in the référentiel) names the city too.
                    raw["lieu_signature"] = _city(str(raw["drac"].get("adresse") or ""))
                try:
                    pending = _prepare(session, actor=actor, template=template, raw=raw, region_code=code, year=year,
                                       batch_id=batch_id)
                except ValuesInvalid as exc:
                    outcome = RegionOutcome(code, name, "invalide", exc.message, errors=dict(exc.errors))
                except DomainError as exc:
                    outcome = RegionOutcome(code, name, "échec", exc.message)
                else:
                    job = (slot, pending, pool.submit(render_job, pending.values))
            if pending_job is not None:
                finish(pending_job, bundle)
                pending_job = None
            if outcome is not None:
                slots[slot] = outcome
                if progress is not None:
                    progress(sum(1 for o in slots if o is not None), total, name)
            pending_job = job
        if pending_job is not None:
            finish(pending_job, bundle)
        outcomes.extend(o for o in slots if o is not None)
        bundle.writestr("rapport.txt", _report_text(template, year, outcomes))
    produced = any(o.status == "ok" for o in outcomes)
    if produced:
        os.replace(tmp_zip, out_path)
    else:
        # A ZIP holding only « rapport.txt » is no help: the page says what to fill instead.
        tmp_zip.unlink(missing_ok=True)
    if progress is not None:
        progress(total, total, "")
    audit.record(session, "drafting.batch", actor=actor, object_type="template", object_id=template.id, ip=ip,
                 details={"year": year, "produced": sum(o.status == "ok" for o in outcomes),
                          "skipped": [o.region_code for o in outcomes if o.status != "ok"], "batch_id": batch_id})
    session.flush()
    return BatchResult(zip_path=out_path if produced else None, outcomes=outcomes)


def _report_text(template: TemplateInfo, year: int, outcomes: list[RegionOutcome]) -> str:
    lines = [f"Modèle : {template.title} (version {template.version.number})", f"Année : {year}", ""]
    for o in outcomes:
        lines.append(f"{o.region_code} {o.region_name} : {o.status} – {o.message}")
        for key, message in o.errors.items():
            lines.append(f"    {key} : {message}")
    return "\n".join(lines) + "\n"


def parse_values_csv(data: bytes, fields: list[FieldSpec]) -> dict[str, dict[str, Any]]:
    """Per-region values from a CSV whose header names the fields (names or labels) and a "region" column."""
    if len(data) > MAX_CSV_BYTES:
        raise ValidationError("Le fichier CSV est trop volumineux (2 Mo au plus).", errors={"csv": "Fichier trop gros."})
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", "replace")  # Excel's "CSV (séparateur : point-virgule)"
    if not text.strip():
        raise ValidationError("Le fichier CSV est vide.", errors={"csv": "Fichier vide."})
    first = text.splitlines()[0]
    delimiter = ";" if first.count(";") >= first.count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = [h.strip() for h in next(reader)]
    columns: dict[str, str] = {}
    for spec in fields:
        if spec.computed:
            continue
        if spec.type == "organisation":
            for sub in spec.subfields:
                columns[f"{spec.name}.{sub.name}".lower()] = f"{spec.name}.{sub.name}"
                columns[f"{spec.label} – {sub.label}".lower()] = f"{spec.name}.{sub.name}"
        elif spec.type != "liste":
            columns[spec.name.lower()] = spec.name
            columns[spec.label.lower()] = spec.name
    columns.setdefault("region", "region")
    columns.setdefault("région", "region")
    columns.setdefault("code", "region")
    mapped: list[str] = []
    unknown = []
    for title in header:
        key = columns.get(title.lower())
        if key is None:
            unknown.append(title)
        mapped.append(key or "")
    if unknown:
        known = ", ".join(sorted({v for v in columns.values()}))
        raise ValidationError(
            f"Colonnes inconnues dans le CSV : {', '.join(unknown)}. Colonnes possibles : {known}.",
            errors={"csv": "Colonnes inconnues : " + ", ".join(unknown)},
        )
    if "region" not in mapped:
        raise ValidationError("Le CSV doit avoir une colonne « region » (code de la région, ex. 11).",
                              errors={"csv": "Colonne « region » manquante."})
    result: dict[str, dict[str, Any]] = {}
    for line in reader:
        if not any(cell.strip() for cell in line):
            continue
        row: dict[str, Any] = {}
        for key, cell in zip(mapped, line):
            if "." in key:
                owner, _, part = key.partition(".")
                row.setdefault(owner, {})[part] = cell
            else:
                row[key] = cell
        code = str(row.pop("region", "")).strip()
        if code:
            result[code] = row
    if not result:
        raise ValidationError("Le CSV ne contient aucune ligne de région.", errors={"csv": "Aucune ligne."})
    return result
