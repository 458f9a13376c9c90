"""Committees themselves: the reference ones, local ones a region adds, name and description."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from documents import archive, audit, permissions
from documents.committees.limits import MAX_TEXT
from documents.committees.scope import require_manage
from documents.errors import PermissionDenied, ValidationError
from documents.models import (
    Committee,
    CommitteeLevel,
    CommitteeMember,
    Meeting,
    MemberRole,
    Organisation,
    Region,
    User,
)


def ensure_committees(session: Session) -> int:
    """Create the national committee and one regional committee per current region (idempotent); flush only."""
    existing = set(session.scalars(select(Committee.slug).where(Committee.slug.is_not(None))))
    created = 0
    orgs = {o.slug: o for o in session.scalars(select(Organisation).where(
        Organisation.kind.in_(["drac", "signataire"])))}
    drac_by_region = {o.region_code: o for o in orgs.values() if o.kind == "drac"}

    def add(slug: str, name: str, level: CommitteeLevel, region_code: str | None, org: Organisation | None,
            description: str) -> None:
        nonlocal created
        if slug in existing:
            return
        committee = Committee(slug=slug, name=name, level=level.value, region_code=region_code,
                              organisation_id=org.id if org else None, description=description)
        if org is not None:
            # The chairing body is the first member, as président; an admin adds the people.
            committee.members.append(CommitteeMember(
                name=org.representative or org.short_name or org.name, organisation=org.name,
                email=org.email or "", role=MemberRole.PRESIDENT.value))
        session.add(committee)
        created += 1

    add("national", "Comité de pilotage national", CommitteeLevel.NATIONAL, None, orgs.get("cnc"),
        "Présidé par le CNC ; se réunit au moins une fois par an ; fixe les orientations et les "
        "modalités d'évaluation du dispositif.")
    # Today's regions only: the committees of the 2009 regions stay closed with their history.
    for region in session.scalars(select(Region).where(Region.valid_until.is_(None)).order_by(Region.code)):
        add(f"regional-{region.code}", f"Comité de pilotage régional – {region.name}", CommitteeLevel.REGIONAL,
            region.code, drac_by_region.get(region.code),
            "Mis en place par la DRAC ; se réunit au moins une fois par an ; valide les projets locaux.")
    session.flush()
    return created


def create_committee(session: Session, *, actor: User | None, name: str, region_code: str | None,
                     description: str = "", organisation_id: int | None = None, ip: str = "") -> Committee:
    """Add a local committee (a coordination locale's committee of partners) to a region."""
    errors: dict[str, str] = {}
    name = " ".join((name or "").split())[:300]
    if not name:
        errors["name"] = "Le nom du comité est obligatoire."
    region_code = (region_code or "").strip() or None
    if region_code is None:
        errors["region_code"] = "Un comité local appartient à une région : choisissez-la."
    elif (region := session.get(Region, region_code)) is None:
        errors["region_code"] = f"Aucune région n'a le code {region_code}."
    elif region.successor_code is not None:
        errors["region_code"] = (f"La région {region.name} n'existe plus depuis 2016 : créez le comité dans "
                                 f"sa région d'aujourd'hui ({region.successor_code}).")
    if organisation_id is not None and session.get(Organisation, organisation_id) is None:
        errors["organisation_id"] = "Cette organisation n'existe pas dans le référentiel."
    if errors:
        raise ValidationError("Le comité n'a pas été créé.", errors=errors)
    if not permissions.can_write_region(actor, region_code):
        raise PermissionDenied("Vous ne pouvez pas créer de comité dans cette région.")
    committee = Committee(name=name, level=CommitteeLevel.LOCAL.value, region_code=region_code,
                          description=(description or "")[:MAX_TEXT], organisation_id=organisation_id,
                          created_by_id=actor.id if actor else None)
    session.add(committee)
    session.flush()
    audit.record(session, "committee.create", actor=actor, object_type="committee", object_id=committee.id,
                 region_code=region_code, ip=ip, details={"name": name})
    session.flush()
    return committee


def update_committee(session: Session, committee: Committee, *, actor: User | None, name: str,
                     description: str = "", active: bool = True, ip: str = "") -> Committee:
    """Change a committee's name, description, and whether it is still active."""
    require_manage(actor, committee)
    name = " ".join((name or "").split())[:300]
    if not name:
        raise ValidationError("Le comité n'a pas été modifié.", errors={"name": "Le nom du comité est obligatoire."})
    description = (description or "").replace("\r\n", "\n")[:MAX_TEXT]
    before = {"name": committee.name, "description": committee.description or "", "active": bool(committee.active)}
    after = {"name": name, "description": description, "active": bool(active)}
    changed = sorted(k for k in after if after[k] != before[k])
    if not changed:
        return committee
    committee.name, committee.description, committee.active = name, description, bool(active)
    if "name" in changed:
        # The committee's name is part of each meeting's search entry and title.
        for meeting_id in session.scalars(select(Meeting.id).where(Meeting.committee_id == committee.id)):
            archive.enqueue(session, meeting_id, object_type="meeting")
    audit.record(session, "committee.update", actor=actor, object_type="committee", object_id=committee.id,
                 region_code=committee.region_code, ip=ip,
                 details={"changed": changed, **({"from": before["name"], "to": name} if "name" in changed else {}),
                          **({"active": bool(active)} if "active" in changed else {})})
    session.flush()
    return committee
