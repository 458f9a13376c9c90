"""One unit of work at the edge: verbs combined in one transaction commit or roll back together."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from documents import archive
from documents.committees.committee import create_committee
from documents.committees.dates import paris_datetime
from documents.committees.feeds import FEED_USE_RESOLUTION, create_feed_token, user_for_feed_token
from documents.committees.meetings import MeetingInput, schedule_meeting
from documents.committees.members import add_member
from documents.committees.notifications import Notifier
from documents.models import AuditEvent, Committee, Document, MailOutbox
from documents.storage import LocalStorage, sha256_file
from documents.unitofwork import unit_of_work
from samplefiles import make_docx, write_sample
from testkit import committee, user, with_committees


class Boom(Exception):
    """Raised by a test to abandon its unit of work."""


def count(session: Any, model: Any) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_two_verbs_in_one_unit_of_work_roll_back_together(app: Any, db_session: Any, tmp_path: Path) -> None:
    with_committees(db_session)
    factory = app.extensions["db_factory"]
    store = LocalStorage(tmp_path / "files")
    path = write_sample(tmp_path / "note.docx", make_docx(["Note de cadrage du comité."]))
    committees_before, audit_before = count(db_session, Committee), count(db_session, AuditEvent)
    with pytest.raises(Boom):
        with unit_of_work(factory) as session:
            idf = user(session, "idf")
            create_committee(session, actor=idf, name="Comité local de Bobigny", region_code="11")
            doc = archive.archive_document(session, store, actor=idf, path=path, filename="note.docx",
                                           meta=archive.Metadata(title="Note de cadrage", region_code="11"))
            assert doc.id is not None and store.exists(sha256_file(path)), "both verbs did their work"
            raise Boom
    db_session.rollback()
    assert count(db_session, Committee) == committees_before
    assert count(db_session, Document) == 0
    assert count(db_session, AuditEvent) == audit_before
    # The file stored by the rolled-back verb went with it: no orphan is left.
    assert list(store.keys()) == []


def test_a_verb_whose_savepoint_is_the_first_write_rolls_back_with_its_unit_of_work(
        app: Any, db_session: Any, tmp_path: Path) -> None:
    # archive_document writes inside a savepoint; as the first write of the transaction, SQLite used
    # to treat that savepoint as the transaction and commit it on release.
    factory = app.extensions["db_factory"]
    store = LocalStorage(tmp_path / "files")
    path = write_sample(tmp_path / "note.docx", make_docx(["Note de cadrage du comité."]))
    idf = user(db_session, "idf")
    db_session.commit()
    audit_before = count(db_session, AuditEvent)
    with pytest.raises(Boom):
        with unit_of_work(factory) as session:
            actor = session.get(type(idf), idf.id)
            archive.archive_document(session, store, actor=actor, path=path, filename="note.docx",
                                     meta=archive.Metadata(title="Note de cadrage", region_code="11"))
            raise Boom
    db_session.rollback()
    assert count(db_session, Document) == 0
    assert count(db_session, AuditEvent) == audit_before
    assert list(store.keys()) == []


def test_two_verbs_in_one_unit_of_work_commit_together(app: Any, db_session: Any, tmp_path: Path) -> None:
    with_committees(db_session)
    factory = app.extensions["db_factory"]
    store = LocalStorage(tmp_path / "files")
    path = write_sample(tmp_path / "note.docx", make_docx(["Note de cadrage du comité."]))
    with unit_of_work(factory) as session:
        idf = user(session, "idf")
        create_committee(session, actor=idf, name="Comité local de Bobigny", region_code="11")
        archive.archive_document(session, store, actor=idf, path=path, filename="note.docx",
                                 meta=archive.Metadata(title="Note de cadrage", region_code="11"))
    db_session.rollback()
    assert db_session.scalar(select(Committee).where(Committee.name == "Comité local de Bobigny")) is not None
    assert count(db_session, Document) == 1 and store.exists(sha256_file(path))


def _meeting_input() -> MeetingInput:
    import datetime as dt

    return MeetingInput(starts_at=paris_datetime(dt.date(2026, 3, 12), dt.time(14)), place="DRAC")


def test_a_notification_is_written_in_the_transaction_of_its_change(app: Any, db_session: Any) -> None:
    with_committees(db_session)
    com_id = committee(db_session, "regional-11").id
    add_member(db_session, committee(db_session, "regional-11"), actor=user(db_session, "idf"), name="Nadia",
               email="nadia@melies.example")
    db_session.commit()
    factory = app.extensions["db_factory"]
    with pytest.raises(Boom):
        with unit_of_work(factory) as session:
            schedule_meeting(session, session.get(Committee, com_id), actor=user(session, "idf"),
                             data=_meeting_input(), notifier=Notifier())
            assert count(session, MailOutbox) == 1, "the message is a row of the same transaction"
            raise Boom
    db_session.rollback()
    assert count(db_session, MailOutbox) == 0, "rolled back: no message either"

    with unit_of_work(factory) as session:
        schedule_meeting(session, session.get(Committee, com_id), actor=user(session, "idf"),
                         data=_meeting_input(), notifier=Notifier())
    db_session.rollback()
    [row] = db_session.scalars(select(MailOutbox)).all()
    assert (row.state, row.attempts, row.recipients) == ("pending", 0, ["nadia@melies.example"])
    assert row.subject.startswith("[Passeurs d'images] Convocation : ")
    assert [a["filename"] for a in row.attachments] == ["invitation.ics"]


def test_a_calendar_poll_writes_its_last_use_at_most_once_an_hour(db_session: Any) -> None:
    import datetime as dt

    from documents.models import CalendarToken

    idf = user(db_session, "idf")
    plaintext = create_feed_token(db_session, idf)
    db_session.commit()
    assert user_for_feed_token(db_session, plaintext) is idf
    token = db_session.scalar(select(CalendarToken).where(CalendarToken.user_id == idf.id))
    first = token.last_used_at
    assert first is not None and not db_session.dirty
    db_session.commit()
    # A second poll a minute later changes nothing: no write per GET.
    assert user_for_feed_token(db_session, plaintext) is idf
    assert token.last_used_at == first and not db_session.dirty
    # An hour later, the use is noted again.
    token.last_used_at = first - FEED_USE_RESOLUTION - dt.timedelta(seconds=1)
    db_session.commit()
    assert user_for_feed_token(db_session, plaintext) is idf
    db_session.commit()
    db_session.expire_all()
    assert db_session.get(CalendarToken, token.id).last_used_at > first - FEED_USE_RESOLUTION
