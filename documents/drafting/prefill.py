"""Values prefilled from the reference data and last year's draft."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from documents.bounds import check_year
from documents.drafting.templates import TemplateInfo, template_fields
from documents.formatting import parse_date
from documents.models import (
    Document,
    Generation,
    Organisation,
    OrganisationKind,
    Region,
)

# --------------------------------------------------------------------------- prefill


def _org(org: Organisation | None) -> dict[str, str]:
    if org is None:
        return {"nom": "", "adresse": "", "representant": "", "qualite": ""}
    return {"nom": org.name, "adresse": org.address or "", "representant": org.representative or "",
            "qualite": org.representative_title or ""}


def _org_of(session: Session, kind: OrganisationKind, region_code: str | None = None) -> Organisation | None:
    stmt = select(Organisation).where(Organisation.kind == kind.value)
    if region_code is not None:
        stmt = stmt.where(Organisation.region_code == region_code)
    return session.scalars(stmt.order_by(Organisation.id)).first()


def _city(address: str) -> str:
    """"Hôtel de Blossac, 6 rue du Chapitre, 35044 Rennes Cedex" -> "Rennes"."""
    match = re.search(r"\b\d{5}\s+([^,\d]+?)(?:\s+cedex\b.*)?$", address.strip(), re.IGNORECASE)
    return match.group(1).strip() if match else ""


def previous_generation(session: Session, template: TemplateInfo, region_code: str | None,
                        year: int) -> Generation | None:
    """The latest generation of this model for this region in ``year - 1``, if any."""
    stmt = (
        select(Generation).join(Document, Document.id == Generation.document_id)
        .where(Generation.template_document_id == template.id, Generation.year == year - 1,
               Document.deleted_at.is_(None))
        .order_by(Generation.id.desc())
    )
    stmt = stmt.where(Generation.region_code.is_(None)) if region_code is None else \
        stmt.where(Generation.region_code == region_code)
    return session.scalars(stmt).first()


def _shift_year(value: Any) -> Any:
    """"2025-01-01" -> "2026-01-01" (last year's dates, moved to this year)."""
    try:
        day = parse_date(str(value))
    except ValueError:
        return value
    try:
        return day.replace(year=day.year + 1).isoformat()
    except ValueError:  # 29 February
        return day.replace(year=day.year + 1, day=28).isoformat()


def prefill(session: Session, template: TemplateInfo, region_code: str | None, year: int) -> dict[str, Any]:
    """Starting values of a form: defaults < last year's values < reference data < the year."""
    check_year(year)
    fields = template_fields(session, template)
    names = {spec.name for spec in fields}
    by_name = {spec.name: spec for spec in fields}
    raw: dict[str, Any] = {}
    for spec in fields:
        if spec.computed:
            continue
        if spec.default is not None:
            raw[spec.name] = json.loads(json.dumps(spec.default))
    previous = previous_generation(session, template, region_code, year)
    if previous is not None:
        for name, value in (previous.input_values or {}).items():
            known = by_name.get(name)
            if known is None or known.computed:
                continue
            raw[name] = _shift_year(value) if known.type == "date" else value
        for name in ("annee_debut", "annee_fin"):
            if name in names and str(raw.get(name, "")).isdigit():
                raw[name] = str(int(raw[name]) + 1)
    # Reference data last: it is the source of truth for names, addresses and representatives.
    region = session.get(Region, region_code) if region_code else None
    drac = _org_of(session, OrganisationKind.DRAC, region_code) if region else None
    coordination = _org_of(session, OrganisationKind.COORDINATION_REGIONALE, region_code) if region else None
    nationale = _org_of(session, OrganisationKind.COORDINATION_NATIONALE)
    if region is not None:
        raw["region"] = region.code
        raw["region_nom"] = region.name
        raw["drac"] = _org(drac)
        raw["coordination_regionale"] = _org(coordination)
        raw["financeur"] = _org(drac)
        raw["beneficiaire"] = _org(coordination)
        if drac is not None and not raw.get("lieu_signature"):
            raw["lieu_signature"] = _city(drac.address or "")
        if "comite" in names and not raw.get("comite"):
            raw["comite"] = f"Comité de pilotage régional « Passeurs d'images » – {region.name}"
    else:
        cnc = session.scalar(select(Organisation).where(Organisation.slug == "cnc"))
        raw.setdefault("financeur", _org(cnc) if cnc is not None else _org(None))
        raw["beneficiaire"] = _org(nationale)
        if "lieu_signature" in names and not raw.get("lieu_signature"):
            raw["lieu_signature"] = "Paris"
    raw["coordination_nationale"] = _org(nationale)
    signatories = session.scalars(
        select(Organisation).where(Organisation.kind == OrganisationKind.SIGNATAIRE.value).order_by(Organisation.id)
    ).all()
    if signatories:
        raw["signataires"] = [
            {"nom": o.name, "representant": o.representative or "", "qualite": o.representative_title or ""}
            for o in signatories
        ]
    if "annee" in names:
        raw["annee"] = str(year)
    if previous is None:
        for name, value in (("annee_debut", year), ("annee_fin", year + 2)):
            if name in names and not raw.get(name):
                raw[name] = str(value)
        if "date_effet" in names and not raw.get("date_effet"):
            raw["date_effet"] = dt.date(year, 1, 1).isoformat()
        if "date_echeance" in names and not raw.get("date_echeance"):
            raw["date_echeance"] = dt.date(year, 12, 31).isoformat()
        if "date_remise_bilan" in names and not raw.get("date_remise_bilan"):
            raw["date_remise_bilan"] = dt.date(year + 1, 3, 31).isoformat()
    return {name: value for name, value in raw.items() if name in names}
