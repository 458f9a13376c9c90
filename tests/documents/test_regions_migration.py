"""Migration 0009 on a database at the previous head holding 2009-region data (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import MetaData, func, select, text

from documents import migrate, referencedata
from documents.archive import visible_documents
from documents.committees.scope import visible_committees, visible_meetings
from documents.db import make_engine, make_session_factory
from documents.models import AuditEvent, Committee, Region, User
from testkit import empty_database

BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])
NOW = dt.datetime(2015, 6, 1, 12, 0, tzinfo=dt.UTC)


@pytest.fixture(params=BACKENDS)
def old_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database at revision 0006 (before the regions' history) holding 2009-region data."""
    with empty_database(request.param, tmp_path) as url:
        migrate.upgrade(url, "0006")
        _fill_2009(url)
        yield url


def _fill_2009(url: str) -> None:
    engine = make_engine(url)
    meta = MetaData()
    meta.reflect(engine)
    t = meta.tables
    with engine.begin() as conn:
        conn.execute(t["region"].insert(), [{"code": r.code, "name": r.name_in_2009, "slug": r.slug}
                                            for r in referencedata.regions_of_2009()])
        orgs = [o for o in referencedata.load_organisations()
                if o.kind in ("drac", "signataire") and (o.region_code is None or len(o.region_code) > 1)
                and o.region_code in (None, "91", "73", "72", "11")]
        conn.execute(t["organisation"].insert(), [
            {"slug": o.slug, "name": o.name.replace("Centre-Val de Loire", "Centre"), "short_name": o.short_name,
             "kind": o.kind, "region_code": o.region_code, "address": "", "representative": o.representative,
             "representative_title": o.representative_title, "email": ""} for o in orgs])
        users = [("lr@test.fr", "regional", "91"), ("mp@test.fr", "regional", "73"), ("aq@test.fr", "regional", "72"),
                 ("lecteur.lr@test.fr", "lecteur", "91"), ("idf@test.fr", "regional", "11"),
                 ("admin@test.fr", "admin", None)]
        conn.execute(t["user_account"].insert(), [
            {"email": e, "name": e.split("@")[0], "role": role, "region_code": region, "password_hash": "x",
             "active": True, "must_change_password": False, "created_at": NOW} for e, role, region in users])
        committee_rows = [("national", "Comité de pilotage national", "national", None),
                          ("regional-91", "Comité de pilotage régional – Languedoc-Roussillon", "regional", "91"),
                          ("regional-73", "Comité de pilotage régional – Midi-Pyrénées", "regional", "73"),
                          ("regional-72", "Comité de pilotage régional – Aquitaine", "regional", "72"),
                          ("regional-11", "Comité de pilotage régional – Île-de-France", "regional", "11"),
                          (None, "Comité local de Montpellier", "local", "91")]
        conn.execute(t["committee"].insert(), [
            {"slug": slug, "name": name, "level": level, "region_code": region, "description": "",
             "active": True, "created_at": NOW} for slug, name, level, region in committee_rows])
        ids = dict(conn.execute(select(t["committee"].c.name, t["committee"].c.id)).all())
        conn.execute(t["meeting"].insert(), [
            {"committee_id": ids[name], "region_code": region, "title": title, "starts_at": NOW, "place": "",
             "visio_url": "", "notes": "", "status": "held", "sequence": 0, "minutes_status": "approved",
             "created_at": NOW, "updated_at": NOW}
            for name, region, title in [
                ("Comité de pilotage régional – Languedoc-Roussillon", "91", "Comité LR 2015"),
                ("Comité de pilotage régional – Aquitaine", "72", "Comité Aquitaine 2015")]])
        conn.execute(t["document"].insert(), [
            {"title": title, "doc_type": "convention", "status": status, "region_code": region, "year": year,
             "tacit_renewal": False, "keywords": "", "notes": "", "created_at": NOW, "updated_at": NOW}
            for title, region, year, status in [
                ("Convention Languedoc-Roussillon 2012", "91", 2012, "signe"),
                ("Convention Midi-Pyrénées 2012", "73", 2012, "signe"),
                ("Convention Aquitaine 2012", "72", 2012, "signe"),
                ("Brouillon Languedoc-Roussillon 2015", "91", 2015, "brouillon"),
                ("Protocole national", None, 2009, "signe")]])
        draft_id = conn.execute(select(t["document"].c.id).where(
            t["document"].c.title == "Brouillon Languedoc-Roussillon 2015")).scalar_one()
        conn.execute(t["drafting_generation"].insert().values(
            document_id=draft_id, version_number=1, template_version=1, template_slug="convention-drac",
            template_sha256="0" * 64, input_values={}, region_code="91", year=2015, created_at=NOW))
    engine.dispose()


def test_upgrade_moves_users_and_committees_and_keeps_history(old_url: str) -> None:
    migrate.upgrade(old_url)
    engine = make_engine(old_url)
    session = make_session_factory(engine)()
    try:
        def who(email: str) -> User:
            return session.scalars(select(User).where(User.email == email)).one()

        # Users of a merged region now belong to its successor; the others stay.
        assert {u.email: u.region_code for u in session.scalars(select(User))} == {
            "lr@test.fr": "76", "mp@test.fr": "76", "aq@test.fr": "75", "lecteur.lr@test.fr": "76",
            "idf@test.fr": "11", "admin@test.fr": None}
        moved = session.scalars(select(AuditEvent).where(AuditEvent.action == "region.migrate",
                                                         AuditEvent.object_type == "user")).all()
        assert sorted((e.details["from"], e.details["to"]) for e in moved) == [
            ("72", "75"), ("73", "76"), ("91", "76"), ("91", "76")]
        # The map: history, successor, today's names.
        lr, occ, centre = (session.get(Region, c) for c in ("91", "76", "24"))
        assert (lr.valid_until, lr.successor_code, lr.name) == (dt.date(2015, 12, 31), "76", "Languedoc-Roussillon")
        assert occ.valid_until is None and occ.name == "Occitanie"
        assert (centre.name, centre.former_name, centre.valid_until) == ("Centre-Val de Loire", "Centre", None)
        assert session.scalar(select(func.count()).select_from(Region).where(Region.valid_until.is_(None))) == 18
        # Former regional committees closed, in their region; local ones moved; new ones created.
        by_slug = {c.slug: c for c in session.scalars(select(Committee))}
        assert (by_slug["regional-91"].active, by_slug["regional-91"].region_code) == (False, "91")
        assert by_slug["regional-11"].active and by_slug["regional-11"].region_code == "11"
        assert by_slug[None].region_code == "76"  # the local committee of Montpellier
        new = by_slug["regional-76"]
        assert new.active and new.organisation.name == "DRAC Occitanie"
        assert [m.role for m in new.members] == ["president"]
        assert "regional-11" in by_slug and "regional-01" in by_slug and "regional-06" in by_slug
        # Everyone sees exactly what they should.
        lr_agent = who("lr@test.fr")
        assert {d.title for d in session.scalars(visible_documents(lr_agent))} == {
            "Convention Languedoc-Roussillon 2012", "Convention Midi-Pyrénées 2012",
            "Brouillon Languedoc-Roussillon 2015", "Protocole national"}
        assert {d.title for d in session.scalars(visible_documents(who("aq@test.fr")))} == {
            "Convention Aquitaine 2012", "Protocole national"}
        assert {m.title for m in session.scalars(visible_meetings(lr_agent))} == {"Comité LR 2015"}
        assert {m.title for m in session.scalars(visible_meetings(who("aq@test.fr")))} == {
            "Comité Aquitaine 2015"}
        # Closed committees leave the lists; their meetings stay readable (above).
        seen = {c.slug for c in session.scalars(visible_committees(who("lecteur.lr@test.fr")))}
        assert seen == {"national", "regional-76", None}
        assert {d.title for d in session.scalars(visible_documents(who("idf@test.fr")))} == {"Protocole national"}
    finally:
        session.close()
        engine.dispose()

    # Down again: users and committees back where they were.
    migrate.downgrade(old_url, "0006")
    engine = make_engine(old_url)
    try:
        with engine.connect() as conn:
            rows = dict(conn.execute(text("SELECT email, region_code FROM user_account")).all())
            assert rows["lr@test.fr"] == "91" and rows["aq@test.fr"] == "72" and rows["idf@test.fr"] == "11"
            active = dict(conn.execute(text("SELECT name, active FROM committee")).all())
            assert all(active.values())
    finally:
        engine.dispose()
