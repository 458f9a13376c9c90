"""Decisions and actions: checks, corrections, scoped lists, CSV exports and the compliance report."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select

from committeekit import audits, count, schedule
from documents.committees.actions import (
    add_action,
    delete_action,
    get_action,
    set_action_status,
)
from documents.committees.compliance import compliance
from documents.committees.dashboard import dashboard_counts
from documents.committees.decisions import (
    DecisionInput,
    add_decision,
    delete_decision,
    update_decision,
)
from documents.committees.errors import CommitteeError
from documents.committees.exports import actions_csv, decisions_csv
from documents.committees.indexing import index_entry_for_meeting
from documents.committees.lists import ListFilters, actions_query, decisions_query
from documents.committees.minutes import approve_minutes, draft_minutes, submit_minutes
from documents.errors import NotFound, PermissionDenied, ValidationError
from documents.models import ActionItem, IndexOutbox, Quartier
from documents.storage import LocalStorage
from testkit import user


def test_decisions_checks(session: Any) -> None:
    idf, national = user(session, "idf"), user(session, "national")
    meeting = schedule(session)
    nat_meeting = schedule(session, "national", "national")
    with pytest.raises(ValidationError) as err:
        add_decision(session, nat_meeting, actor=national, data=DecisionInput(
            kind="validation_projet", project_name="P", porteur="X"))
    assert "kind" in err.value.errors
    paca_q = session.scalar(select(Quartier.code).where(Quartier.region_code == "93"))
    session.commit()
    with pytest.raises(ValidationError) as err:
        add_decision(session, meeting, actor=idf, data=DecisionInput(
            kind="validation_projet", quartier_code=paca_q))
    assert set(err.value.errors) == {"project_name", "porteur", "quartier_code"}
    with pytest.raises(ValidationError):
        add_decision(session, meeting, actor=idf, data=DecisionInput(text=" "))
    with pytest.raises(ValidationError):
        add_action(session, meeting, actor=idf, title="X", decision_id=999999)
    session.rollback()
    plain = add_decision(session, meeting, actor=idf, data=DecisionInput(text="Le bilan est adopté."))
    assert (plain.kind, plain.project_name) == ("decision", "")
    delete_decision(session, meeting, actor=idf, decision_id=plain.id)
    assert meeting.decisions == []


def test_update_decision_and_delete_action(session: Any, storage: LocalStorage) -> None:
    idf = user(session, "idf")
    meeting = schedule(session)
    first = add_decision(session, meeting, actor=idf, data=DecisionInput(text="Bilan adopté."))
    decision = add_decision(session, meeting, actor=idf, data=DecisionInput(text="Valider Ciné-jeunes."))
    action = add_action(session, meeting, actor=idf, title="Signer la convention", decision_id=decision.id)
    quartier = session.scalar(select(Quartier).where(Quartier.region_code == "11").order_by(Quartier.code))
    session.execute(IndexOutbox.__table__.delete())
    session.commit()
    update_decision(session, meeting, actor=idf, decision_id=decision.id, data=DecisionInput(
        kind="validation_projet", project_name="Ciné-jeunes", porteur="MJC de Pantin",
        quartier_code=quartier.code))
    assert [d.id for d in meeting.decisions] == [first.id, decision.id]
    assert (decision.kind, decision.project_name, decision.quartier_code, decision.commune, decision.position) == (
        "validation_projet", "Ciné-jeunes", quartier.code, quartier.communes[:200], 1)
    assert action.decision_id == decision.id
    assert "Ciné-jeunes" in index_entry_for_meeting(session, meeting.id).text
    assert [q.object_id for q in session.scalars(select(IndexOutbox))] == [meeting.id]
    [event] = audits(session, "meeting.decision_update")
    assert event.details["before_text"] == "Valider Ciné-jeunes." and "project_name" in event.details["changed"]
    with pytest.raises(ValidationError) as err:
        update_decision(session, meeting, actor=idf, decision_id=decision.id, data=DecisionInput(text=""))
    assert set(err.value.errors) == {"text"}
    paca_q = session.scalar(select(Quartier.code).where(Quartier.region_code == "93"))
    session.commit()
    with pytest.raises(ValidationError) as err:
        update_decision(session, meeting, actor=idf, decision_id=decision.id, data=DecisionInput(
            kind="validation_projet", project_name="P", porteur="X", quartier_code=paca_q))
    assert set(err.value.errors) == {"quartier_code"}
    with pytest.raises(NotFound):
        update_decision(session, meeting, actor=idf, decision_id=999999, data=DecisionInput(text="X"))
    with pytest.raises(PermissionDenied):
        update_decision(session, meeting, actor=user(session, "lecteur_idf"), decision_id=first.id,
                        data=DecisionInput(text="Intrus"))
    with pytest.raises(NotFound):
        update_decision(session, meeting, actor=user(session, "paca"), decision_id=first.id,
                        data=DecisionInput(text="Intrus"))
    with pytest.raises(NotFound):
        delete_action(session, action, actor=user(session, "paca"))
    with pytest.raises(PermissionDenied):
        delete_action(session, action, actor=user(session, "lecteur_idf"))
    session.rollback()
    session.expire_all()
    assert first.text == "Bilan adopté." and len(meeting.actions) == 1

    delete_action(session, action, actor=idf)
    assert meeting.actions == [] and count(session, ActionItem) == 0
    assert audits(session, "meeting.action_delete")[0].details["title"] == "Signer la convention"
    # Once the minutes are approved, decisions and actions are the record: no more edits or deletions.
    kept = add_action(session, meeting, actor=idf, title="Relancer la mairie")
    draft_minutes(session, storage, meeting, actor=idf)
    submit_minutes(session, meeting, actor=idf)
    approve_minutes(session, meeting, actor=idf)
    session.commit()
    with pytest.raises(CommitteeError):
        update_decision(session, meeting, actor=idf, decision_id=first.id, data=DecisionInput(text="Autre"))
    with pytest.raises(CommitteeError):
        delete_action(session, kept, actor=idf)
    session.rollback()
    session.expire_all()
    assert first.text == "Bilan adopté." and [a.title for a in meeting.actions] == ["Relancer la mairie"]


def test_decision_and_action_lists_are_scoped_and_export_csv(session: Any) -> None:
    idf, paca = user(session, "idf"), user(session, "paca")
    m_idf = schedule(session)
    m_paca = schedule(session, "regional-93", "paca")
    add_decision(session, m_idf, actor=idf, data=DecisionInput(
        kind="validation_projet", project_name="=HYPERLINK(\"http://x\")", porteur="Cinéma; « Le Méliès »",
        commune="Montreuil", actions_concerned="Ateliers de pratique"))
    add_decision(session, m_paca, actor=paca, data=DecisionInput(text="Décision marseillaise"))
    late = add_action(session, m_idf, actor=idf, title="Envoyer le bilan", owner="Coordination",
                      due_date=dt.date(2026, 1, 15))
    add_action(session, m_paca, actor=paca, title="Action paca", due_date=dt.date(2026, 1, 15))

    idf_decisions = session.scalars(decisions_query(idf)).all()
    assert [d.meeting_id for d in idf_decisions] == [m_idf.id]
    assert len(session.scalars(decisions_query(user(session, "national"))).all()) == 2
    assert session.scalars(decisions_query(idf, ListFilters(kind="decision"))).all() == []
    data = decisions_csv(idf_decisions)
    assert data.startswith("\ufeff".encode("utf-8"))
    lines = data.decode("utf-8-sig").split("\r\n")
    assert lines[0].split(";")[:3] == ["Date", "Comité", "Région"]
    assert "12/03/2026" in lines[1] and "'=HYPERLINK" in lines[1] and '"Cinéma; « Le Méliès »"' in lines[1]
    assert "marseillaise" not in data.decode("utf-8-sig")

    overdue = session.scalars(actions_query(idf, ListFilters(overdue_on=dt.date(2026, 2, 1)))).all()
    assert [a.id for a in overdue] == [late.id]
    set_action_status(session, late, actor=idf, status="faite")
    assert session.scalars(actions_query(idf, ListFilters(overdue_on=dt.date(2026, 2, 1)))).all() == []
    with pytest.raises(NotFound):
        get_action(session, paca, late.id)
    with pytest.raises(ValidationError):
        set_action_status(session, late, actor=idf, status="oubliee")
    text = actions_csv([late]).decode("utf-8-sig")
    assert "15/01/2026;Envoyer le bilan;Coordination;Faite" in text


def test_compliance_report(session: Any) -> None:
    idf = user(session, "idf")
    today = dt.date(2026, 6, 15)
    report = compliance(session, idf, today=today, draft_days=30)
    assert {c.slug for c, _next in report.not_met} == {"national", "regional-11"}
    held = schedule(session, day=dt.date(2026, 3, 12))
    planned = schedule(session, "national", "national", day=dt.date(2026, 11, 5))
    add_action(session, held, actor=idf, title="Relancer la DRAC", due_date=dt.date(2026, 6, 1))
    add_action(session, held, actor=idf, title="Plus tard", due_date=dt.date(2026, 9, 1))
    report = compliance(session, idf, today=today, draft_days=30)
    assert [(c.slug, n.id if n else None) for c, n in report.not_met] == [("national", planned.id)]
    assert [m.id for m in report.minutes_late] == [held.id]
    assert [a.title for a in report.actions_overdue] == ["Relancer la DRAC"]
    # A meeting later this year does not count as having met; national staff see every region.
    national_report = compliance(session, user(session, "national"), today=today)
    assert len(national_report.not_met) == 18
    # With a longer grace period, the draft is not late yet.
    assert compliance(session, idf, today=today, draft_days=120).minutes_late == []
    counts = dashboard_counts(session, idf, today=today)
    assert (counts["not_met"], counts["minutes_late"], counts["actions_overdue"]) == (1, 1, 1)
    assert [m.id for m in counts["upcoming"]] == [planned.id]
