"""regions: the 2016 map beside the 2009 one (validity, successor), users and committees moved

Revision ID: 0009
Revises: 0006
Create Date: 2026-12-01

Schema: ``region`` gets its period of validity, its successor and its 2009 name;
``organisation`` gets ``valid_until`` (the 2009 DRACs are historical from 2016) and ``phone``.

Data, only where the référentiel was already loaded (a fresh database is filled later by
``intranet load-reference``):

- today's regions are added, the 2009 ones closed on 31 December 2015 with their successor,
  those that kept their code renamed (24 « Centre » → « Centre-Val de Loire »);
- the organisations of the new regions (DRAC or DAC, coordination slot) are added, the 2009
  ones of merged regions dated;
- every user of a merged 2009 region moves to its successor (audit row ``region.migrate``);
- the former regional committees stay, closed, with their meetings and minutes; a regional
  committee is created per new current region; other committees (local ones) move to the
  successor (audit row). Documents, meetings and drafts keep the region of their time.

The data comes from the shipped ``documents/data`` CSV files (pure data, no models), so the
step works whatever later migrations add to the tables.
"""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_region = sa.table(
    "region", sa.column("code", sa.String), sa.column("name", sa.String), sa.column("slug", sa.String),
    sa.column("valid_from", sa.Date), sa.column("valid_until", sa.Date), sa.column("successor_code", sa.String),
    sa.column("former_name", sa.String),
)
_org = sa.table(
    "organisation", sa.column("id", sa.Integer), sa.column("slug", sa.String), sa.column("name", sa.String),
    sa.column("short_name", sa.String), sa.column("kind", sa.String), sa.column("region_code", sa.String),
    sa.column("address", sa.Text), sa.column("representative", sa.String),
    sa.column("representative_title", sa.String), sa.column("email", sa.String), sa.column("valid_until", sa.Date),
)
_user = sa.table("user_account", sa.column("id", sa.Integer), sa.column("email", sa.String),
                 sa.column("region_code", sa.String))
_committee = sa.table(
    "committee", sa.column("id", sa.Integer), sa.column("slug", sa.String), sa.column("name", sa.String),
    sa.column("level", sa.String), sa.column("region_code", sa.String), sa.column("organisation_id", sa.Integer),
    sa.column("description", sa.Text), sa.column("active", sa.Boolean), sa.column("created_at", sa.DateTime),
)
_member = sa.table(
    "committee_member", sa.column("committee_id", sa.Integer), sa.column("name", sa.String),
    sa.column("organisation", sa.String), sa.column("email", sa.String), sa.column("role", sa.String),
    sa.column("created_at", sa.DateTime),
)
_audit = sa.table(
    "audit_event", sa.column("at", sa.DateTime), sa.column("actor_email", sa.String), sa.column("action", sa.String),
    sa.column("outcome", sa.String), sa.column("object_type", sa.String), sa.column("object_id", sa.String),
    sa.column("region_code", sa.String), sa.column("ip", sa.String), sa.column("details", sa.JSON),
)

ACTION = "region.migrate"


def _date(value: str) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def upgrade() -> None:
    # Plain ADD COLUMN, no batch: on SQLite a batch rebuilds the table, and dropping ``region``
    # or ``organisation`` while rows point at them fails with foreign keys on. ``successor_code``
    # has no database foreign key for the same reason; the shipped data is checked on loading.
    op.add_column("region", sa.Column("valid_from", sa.Date(), nullable=True))
    op.add_column("region", sa.Column("valid_until", sa.Date(), nullable=True))
    op.add_column("region", sa.Column("successor_code", sa.String(length=8), nullable=True))
    op.add_column("region", sa.Column("former_name", sa.String(length=100), nullable=False, server_default=""))
    op.add_column("organisation", sa.Column("valid_until", sa.Date(), nullable=True))
    op.add_column("organisation", sa.Column("phone", sa.String(length=40), nullable=False, server_default=""))

    conn = op.get_bind()
    if conn.execute(sa.select(sa.func.count()).select_from(_region)).scalar():
        _migrate_data(conn)


def _migrate_data(conn: sa.Connection) -> None:
    from documents import referencedata

    now = dt.datetime.now(dt.UTC)
    rows = referencedata.load_regions()
    existing = set(conn.scalars(sa.select(_region.c.code)))
    for row in rows:
        values = {"name": row.name, "slug": row.slug, "former_name": row.former_name,
                  "valid_from": _date(row.valid_from), "valid_until": _date(row.valid_until)}
        if row.code in existing:
            conn.execute(_region.update().where(_region.c.code == row.code).values(**values))
        else:
            conn.execute(_region.insert().values(code=row.code, **values))
    for row in rows:
        if row.successor_code:
            conn.execute(_region.update().where(_region.c.code == row.code)
                         .values(successor_code=row.successor_code))
    successor = {row.code: row.successor_code for row in rows if row.successor_code}

    # Organisations: date the 2009 ones of merged regions, add the missing shipped ones.
    slugs = set(conn.scalars(sa.select(_org.c.slug)))
    for org in referencedata.load_organisations():
        if org.slug in slugs:
            if org.valid_until:
                conn.execute(_org.update().where(_org.c.slug == org.slug).values(valid_until=_date(org.valid_until)))
            continue
        conn.execute(_org.insert().values(
            slug=org.slug, name=org.name, short_name=org.short_name, kind=org.kind, region_code=org.region_code,
            address=org.address, representative=org.representative, representative_title=org.representative_title,
            email=org.email, valid_until=_date(org.valid_until)))

    def audit(object_type: str, object_id: object, old: str, new: str, what: str) -> None:
        conn.execute(_audit.insert().values(
            at=now, actor_email="", action=ACTION, outcome="ok", object_type=object_type, object_id=str(object_id),
            region_code=new, ip="", details={"from": old, "to": new, "what": what}))

    for user_id, email, code in conn.execute(sa.select(_user.c.id, _user.c.email, _user.c.region_code)
                                             .where(_user.c.region_code.in_(list(successor)))).all():
        conn.execute(_user.update().where(_user.c.id == user_id).values(region_code=successor[code]))
        audit("user", user_id, code, successor[code], email)

    committees = conn.execute(sa.select(_committee.c.id, _committee.c.slug, _committee.c.name,
                                        _committee.c.region_code)
                              .where(_committee.c.region_code.in_(list(successor)))).all()
    for committee_id, slug, name, code in committees:
        if slug == f"regional-{code}":
            # The former regional committee stays, closed, with its meetings and minutes.
            conn.execute(_committee.update().where(_committee.c.id == committee_id).values(active=False))
            audit("committee", committee_id, code, code, f"{name} (clos)")
        else:
            conn.execute(_committee.update().where(_committee.c.id == committee_id)
                         .values(region_code=successor[code]))
            audit("committee", committee_id, code, successor[code], name)

    # One regional committee per current region, where regional committees were set up.
    slugs_taken = set(conn.scalars(sa.select(_committee.c.slug).where(_committee.c.slug.is_not(None))))
    if any(s.startswith("regional-") for s in slugs_taken):
        dracs = {r.region_code: r for r in conn.execute(
            sa.select(_org.c.id, _org.c.region_code, _org.c.name, _org.c.short_name, _org.c.representative,
                      _org.c.email).where(_org.c.kind == "drac", _org.c.valid_until.is_(None))).all()}
        for row in rows:
            if not row.current or f"regional-{row.code}" in slugs_taken:
                continue
            drac = dracs.get(row.code)
            committee_id = conn.execute(_committee.insert().values(
                slug=f"regional-{row.code}", name=f"Comité de pilotage régional – {row.name}", level="regional",
                region_code=row.code, organisation_id=drac.id if drac else None, active=True, created_at=now,
                description="Mis en place par la DRAC ; se réunit au moins une fois par an ; "
                            "valide les projets locaux.").returning(_committee.c.id)).scalar_one()
            if drac is not None:
                conn.execute(_member.insert().values(
                    committee_id=committee_id, name=drac.representative or drac.short_name or drac.name,
                    organisation=drac.name, email=drac.email or "", role="president", created_at=now))
            audit("committee", committee_id, "", row.code, f"Comité de pilotage régional – {row.name} (créé)")


def downgrade() -> None:
    conn = op.get_bind()
    # Put users and committees back where the upgrade found them (its audit rows say where).
    for object_type, object_id, details in conn.execute(
            sa.select(_audit.c.object_type, _audit.c.object_id, _audit.c.details)
            .where(_audit.c.action == ACTION)).all():
        old = (details or {}).get("from")
        if object_type == "user" and old:
            conn.execute(_user.update().where(_user.c.id == int(object_id)).values(region_code=old))
        elif object_type == "committee" and old:
            conn.execute(_committee.update().where(_committee.c.id == int(object_id))
                         .values(region_code=old, active=True))
    op.drop_column("organisation", "phone")
    op.drop_column("organisation", "valid_until")
    for column in ("former_name", "successor_code", "valid_until", "valid_from"):
        op.drop_column("region", column)
