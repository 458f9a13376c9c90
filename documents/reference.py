"""Loading and editing the reference data (regions, organisations, quartiers)."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from documents import audit, referencedata
from documents.errors import ValidationError
from documents.models import Organisation, OrganisationKind, Quartier, Region, User


def load_reference(session: Session) -> dict[str, int]:
    """Insert the shipped reference data; idempotent, and never overwrites an admin's edits.

    Regions and quartiers are fixed by the protocol and are refreshed from the shipped
    tables; organisations are only created when missing, since admins maintain them.
    """
    created = {"regions": 0, "organisations": 0, "quartiers": 0}
    regions = {r.code: r for r in session.scalars(select(Region))}
    rows = referencedata.load_regions()
    for row in rows:
        region = regions.get(row.code)
        if region is None:
            region = regions[row.code] = Region(code=row.code, slug=row.slug)
            session.add(region)
            created["regions"] += 1
        region.name, region.slug, region.former_name = row.name, row.slug, row.former_name
        region.valid_from, region.valid_until = _date(row.valid_from), _date(row.valid_until)
    session.flush()
    # Successors after every row exists (the foreign key points inside the table).
    for row in rows:
        regions[row.code].successor_code = row.successor_code
    session.flush()
    existing_orgs = set(session.scalars(select(Organisation.slug)))
    for org in referencedata.load_organisations():
        if org.slug in existing_orgs:
            continue
        values = asdict(org)
        values["region_code"] = values.get("region_code") or None
        values["valid_until"] = _date(values.get("valid_until") or "")
        session.add(Organisation(**values))
        created["organisations"] += 1
    quartiers = {q.code: q for q in session.scalars(select(Quartier))}
    for q in referencedata.load_quartiers():
        values = {
            "region_code": q.region_code,
            "region_name": q.region_name,
            "departement": q.departement,
            "communes": q.communes,
            "names": q.names,
            "type": str(q.type),
        }
        current = quartiers.get(q.code)
        if current is None:
            session.add(Quartier(code=q.code, **values))
            created["quartiers"] += 1
        else:
            for key, value in values.items():
                setattr(current, key, value)
    session.flush()
    return created


def _date(value: str) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def update_organisation(
    session: Session,
    org: Organisation,
    *,
    name: str,
    short_name: str,
    kind: str,
    address: str,
    representative: str,
    representative_title: str,
    email: str,
    phone: str = "",
    actor: User | None = None,
) -> Organisation:
    """Change an organisation's details (admins only; checked by the caller)."""
    name = name.strip()
    if not name:
        raise ValidationError("Le nom est obligatoire.", errors={"name": "Le nom est obligatoire."})
    try:
        OrganisationKind(kind)
    except ValueError:
        raise ValidationError("Type inconnu.", errors={"kind": "Choisissez un type dans la liste."}) from None
    before = {"name": org.name, "kind": org.kind}
    org.name, org.short_name, org.kind = name[:300], short_name.strip()[:100], kind
    org.address, org.representative = address.strip()[:2000], representative.strip()[:200]
    org.representative_title, org.email = representative_title.strip()[:200], email.strip()[:254]
    org.phone = phone.strip()[:40]
    audit.record(session, "organisation.update", actor=actor, object_type="organisation",
                 object_id=org.id, region_code=org.region_code, details={"before": str(before)})
    return org
