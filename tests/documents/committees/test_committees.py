"""Committee verbs: the reference and local committees, members, and who sees or changes what."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select

from committeekit import audits, count, schedule
from documents.committees.committee import (
    create_committee,
    ensure_committees,
    update_committee,
)
from documents.committees.errors import CommitteeError
from documents.committees.meetings import MeetingInput, update_meeting
from documents.committees.members import add_member, remove_member, set_member_role
from documents.committees.scope import get_committee, get_meeting, visible_committees
from documents.errors import NotFound, PermissionDenied, ValidationError
from documents.models import Committee, IndexOutbox, Meeting
from testkit import committee, user


def test_reference_committees_are_created_once(session: Any) -> None:
    assert ensure_committees(session) == 0
    all_committees = session.scalars(select(Committee)).all()
    # The national committee and one per current region (the 2009 regions only hold the archive).
    assert len(all_committees) == 1 + 18
    national = committee(session, "national")
    assert national.region_code is None and national.level == "national"
    assert national.organisation.slug == "cnc"
    assert [(m.role, m.organisation) for m in national.members] == [
        ("president", "Centre national du cinéma et de l'image animée")]
    idf = committee(session, "regional-11")
    assert idf.region_code == "11" and idf.organisation.kind == "drac" and idf.organisation.region_code == "11"


def test_committee_scope_by_role(session: Any) -> None:
    def slugs(who: str) -> set[str | None]:
        return {c.slug for c in session.scalars(visible_committees(user(session, who)))}

    assert slugs("idf") == {"national", "regional-11"}
    assert slugs("paca") == {"national", "regional-93"}
    assert len(slugs("national")) == len(slugs("admin")) == 1 + 18
    assert slugs("lecteur_idf") == {"national", "regional-11"}
    with pytest.raises(NotFound):
        get_committee(session, user(session, "idf"), committee(session, "regional-93").id)


def test_local_committee_only_in_own_region(session: Any) -> None:
    idf = user(session, "idf")
    local_committee = create_committee(session, actor=idf, name="Comité local de Saint-Denis", region_code="11")
    assert (local_committee.level, local_committee.region_code) == ("local", "11")
    before = count(session, Committee)
    session.commit()
    with pytest.raises(PermissionDenied):
        create_committee(session, actor=idf, name="Comité local de Marseille", region_code="93")
    with pytest.raises(ValidationError) as err:
        create_committee(session, actor=idf, name="", region_code="")
    assert set(err.value.errors) == {"name", "region_code"}
    session.rollback()
    assert count(session, Committee) == before


def test_members_users_and_contacts(session: Any) -> None:
    com = committee(session, "regional-11")
    idf = user(session, "idf")
    member = add_member(session, com, actor=idf, user_id=user(session, "lecteur_idf").id, role="membre")
    assert member.contact_email == "lecteur.idf@test.fr"
    contact = add_member(session, com, actor=idf, name="Nadia Benali", organisation="Cinéma Le Méliès",
                         email="N.Benali@melies.example", role="invite")
    assert (contact.email, contact.role_label) == ("n.benali@melies.example", "Invité")
    session.commit()
    with pytest.raises(ValidationError) as err:
        add_member(session, com, actor=idf, user_id=user(session, "lecteur_idf").id)
    assert "user_id" in err.value.errors
    with pytest.raises(ValidationError) as err:
        add_member(session, com, actor=idf, name="X", email="a@b.fr, c@d.fr", role="chef")
    assert set(err.value.errors) == {"email", "role"}
    with pytest.raises(NotFound):
        add_member(session, committee(session, "regional-93"), actor=idf, name="Intrus")
    with pytest.raises(PermissionDenied):
        add_member(session, committee(session, "national"), actor=idf, name="Intrus")
    session.rollback()
    remove_member(session, contact, actor=idf)
    assert [m.display_name for m in committee(session, "regional-11").members] == ["DRAC Île-de-France", "Lecteur.idf"]


def test_other_region_and_read_only_national_are_refused(session: Any) -> None:
    before = count(session, Meeting)
    session.commit()
    with pytest.raises(NotFound):
        schedule(session, "regional-93", "idf")
    with pytest.raises(PermissionDenied):
        schedule(session, "national", "idf")
    with pytest.raises(PermissionDenied):
        schedule(session, "regional-11", "lecteur_idf")
    session.rollback()
    assert count(session, Meeting) == before
    paca_meeting = schedule(session, "regional-93", "paca")
    with pytest.raises(NotFound):
        get_meeting(session, user(session, "idf"), paca_meeting.id)
    assert get_meeting(session, user(session, "national"), paca_meeting.id) is paca_meeting
    national = schedule(session, "national", "national")
    assert get_meeting(session, user(session, "idf"), national.id) is national
    with pytest.raises(PermissionDenied):
        update_meeting(session, national, actor=user(session, "idf"),
                       data=MeetingInput(starts_at=national.starts_at, place="Ailleurs"))


def test_update_committee(session: Any) -> None:
    idf = user(session, "idf")
    com = committee(session, "regional-11")
    meeting = schedule(session)
    session.execute(IndexOutbox.__table__.delete())
    session.commit()
    update_committee(session, com, actor=idf, name="  Comité   régional IDF ", description="Réunit la DRAC.\r\nEt la Région.",
                     active=False)
    assert (com.name, com.description, com.active) == ("Comité régional IDF", "Réunit la DRAC.\nEt la Région.", False)
    [event] = audits(session, "committee.update")
    assert event.details["changed"] == ["active", "description", "name"]
    assert event.details["from"] == "Comité de pilotage régional – Île-de-France" and event.region_code == "11"
    # The meetings' search entries carry the committee's name: they are queued again.
    assert [q.object_id for q in session.scalars(select(IndexOutbox))] == [meeting.id]
    assert com.id not in {c.id for c in session.scalars(visible_committees(idf))}
    assert com.id in {c.id for c in session.scalars(visible_committees(idf, include_inactive=True))}
    session.commit()
    with pytest.raises(CommitteeError):
        schedule(session)
    session.rollback()
    # Saving the same values is not a change: nothing logged.
    update_committee(session, com, actor=idf, name=com.name, description=com.description, active=False)
    assert len(audits(session, "committee.update")) == 1
    session.commit()
    with pytest.raises(ValidationError) as err:
        update_committee(session, com, actor=idf, name="  ", active=True)
    assert set(err.value.errors) == {"name"}
    with pytest.raises(NotFound):
        update_committee(session, committee(session, "regional-93"), actor=idf, name="Intrus")
    with pytest.raises(PermissionDenied):
        update_committee(session, committee(session, "national"), actor=idf, name="Intrus")
    with pytest.raises(PermissionDenied):
        update_committee(session, com, actor=user(session, "lecteur_idf"), name="Intrus")
    session.rollback()
    session.expire_all()
    assert committee(session, "national").name == "Comité de pilotage national"
    assert committee(session, "regional-93").name.startswith("Comité de pilotage régional")
    assert committee(session, "regional-11").name == "Comité régional IDF"


def test_member_role_changes_coming_convocations_only(session: Any) -> None:
    idf = user(session, "idf")
    com = committee(session, "regional-11")
    nadia = add_member(session, com, actor=idf, name="Nadia Benali", email="nadia@melies.example")
    past = schedule(session, day=dt.date.today() - dt.timedelta(days=30))
    coming = schedule(session, day=dt.date.today() + dt.timedelta(days=30))
    set_member_role(session, nadia, actor=idf, role="president")
    assert nadia.role == "president" and nadia.role_label == "Président"
    roles = {m.id: next(a.role for a in m.attendance if a.member_id == nadia.id) for m in (past, coming)}
    assert roles == {past.id: "membre", coming.id: "president"}
    [event] = audits(session, "committee.member_role")
    assert (event.details["from"], event.details["to"], event.details["member"]) == ("membre", "president", nadia.id)
    with pytest.raises(ValidationError) as err:
        set_member_role(session, nadia, actor=idf, role="chef")
    assert set(err.value.errors) == {"role"}
    paca_member = committee(session, "regional-93").members[0]
    session.commit()
    with pytest.raises(NotFound):
        set_member_role(session, paca_member, actor=idf, role="invite")
    with pytest.raises(PermissionDenied):
        set_member_role(session, nadia, actor=user(session, "lecteur_idf"), role="invite")
    session.rollback()
    session.expire_all()
    assert paca_member.role == "president" and session.get(type(nadia), nadia.id).role == "president"
    # Removal keeps the name on past records; the removal is logged.
    remove_member(session, nadia, actor=idf)
    assert [a.name for a in past.attendance if a.member_id is None] == ["Nadia Benali"]
    assert len(audits(session, "committee.member_remove")) == 1
    with pytest.raises(NotFound):
        remove_member(session, paca_member, actor=idf)
