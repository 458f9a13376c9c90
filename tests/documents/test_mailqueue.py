"""The mail outbox: rows sent by the worker through the real backends, retried, then dead."""

from __future__ import annotations

import datetime as dt
import socket
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from documents import mailqueue
from documents.errors import ValidationError
from documents.mail import Attachment, Message, OutboxMailer, SmtpMailer, read_outbox
from documents.models import AuditEvent, MailOutbox
from testkit import user


def _message(subject: str = "Convocation") -> Message:
    return Message(to=["Nadia@Melies.example", "pas une adresse"], subject=subject, body="Bonjour,\nà bientôt.",
                   attachments=[Attachment("invitation.ics", "text/calendar", b"BEGIN:VCALENDAR\r\n")])


def _closed_port() -> int:
    # A port that was free a moment ago: nothing listens there, a connection is refused at once.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _row(session: Any, row_id: int) -> MailOutbox:
    session.expire_all()
    row = session.get(MailOutbox, row_id)
    assert row is not None
    return row


def test_worker_sends_a_queued_message_through_the_folder_backend(app: Any, db_session: Any, tmp_path: Path) -> None:
    row = mailqueue.enqueue(db_session, _message(), origin="meeting:1:scheduled")
    db_session.commit()
    assert (row.state, row.recipients) == ("pending", ["nadia@melies.example"])
    folder = tmp_path / "mail"
    report = mailqueue.deliver_due(app.extensions["db_factory"], OutboxMailer(folder, sender="intranet@test.fr"))
    assert (report.sent, report.failed, report.dead) == (1, 0, 0)
    [name] = [p.name for p in folder.glob("*.eml")]
    sent = read_outbox(folder, name)
    assert sent.subject == "Convocation" and "nadia@melies.example" in sent.recipients
    assert sent.body.startswith("Bonjour,\nà bientôt.") and sent.attachments == ["invitation.ics"]
    done = _row(db_session, row.id)
    assert (done.state, done.attempts, done.last_error) == ("sent", 1, "") and done.sent_at is not None
    # Sent once: a second pass finds nothing to do.
    again = mailqueue.deliver_due(app.extensions["db_factory"], OutboxMailer(folder))
    assert (again.sent, len(list(folder.glob("*.eml")))) == (0, 1)


def test_failing_smtp_is_retried_with_growing_delays_then_dead(app: Any, db_session: Any) -> None:
    row = mailqueue.enqueue(db_session, _message())
    db_session.commit()
    factory = app.extensions["db_factory"]
    smtp = SmtpMailer("127.0.0.1", _closed_port(), starttls=False, timeout=2)
    first = mailqueue.deliver_due(factory, smtp, max_attempts=3, base_delay=60)
    assert (first.sent, first.failed, first.dead) == (0, 1, 0)
    failed = _row(db_session, row.id)
    assert (failed.state, failed.attempts) == ("failed", 1)
    assert "127.0.0.1" in failed.last_error and "ConnectionRefusedError" in failed.last_error
    next_at = failed.next_attempt_at if failed.next_attempt_at.tzinfo else \
        failed.next_attempt_at.replace(tzinfo=dt.UTC)
    assert 55 <= (next_at - dt.datetime.now(dt.UTC)).total_seconds() <= 60
    # Not due yet: the worker leaves it alone.
    assert mailqueue.deliver_due(factory, smtp, max_attempts=3).failed == 0
    for attempt in (2, 3):
        # Make it due now instead of waiting for the delay.
        _row(db_session, row.id).next_attempt_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
        db_session.commit()
        report = mailqueue.deliver_due(factory, smtp, max_attempts=3, base_delay=60)
        assert _row(db_session, row.id).attempts == attempt
    assert (report.failed, report.dead) == (0, 1)
    dead = _row(db_session, row.id)
    assert dead.state == "dead"
    stats = mailqueue.stats(db_session)
    assert (stats.pending, stats.failed, stats.dead, stats.oldest_pending_age) == (0, 0, 1, None)

    # An administrator retries it: a fresh series of attempts, audited; the folder backend now delivers it.
    mailqueue.retry(db_session, row.id, actor=user(db_session, "admin"))
    db_session.commit()
    assert (_row(db_session, row.id).state, _row(db_session, row.id).attempts) == ("pending", 0)
    assert db_session.scalar(select(AuditEvent).where(AuditEvent.action == "mail.retry")) is not None
    with pytest.raises(ValidationError):
        mailqueue.retry(db_session, row.id, actor=user(db_session, "admin"))


def test_retry_delays_double_and_are_capped() -> None:
    assert [mailqueue.retry_delay(n, 60) for n in (1, 2, 3, 4)] == [60, 120, 240, 480]
    assert mailqueue.retry_delay(30, 60) == mailqueue.MAX_DELAY


def test_a_claimed_message_is_not_claimed_twice(app: Any, db_session: Any) -> None:
    row = mailqueue.enqueue(db_session, _message())
    db_session.commit()
    factory = app.extensions["db_factory"]
    first, second = factory(), factory()
    try:
        assert mailqueue.claim(first) == [row.id]
        first.commit()
        assert mailqueue.claim(second) == [], "the lease keeps it for the first worker"
        second.commit()
        # A worker that died leaves its lease behind: after it, the message is due again.
        later = dt.datetime.now(dt.UTC) + mailqueue.LEASE + dt.timedelta(seconds=1)
        assert mailqueue.claim(second, now=later) == [row.id]
        second.commit()
    finally:
        first.close()
        second.close()
    assert _row(db_session, row.id).attempts == 2


def test_a_message_without_valid_recipient_is_refused(db_session: Any) -> None:
    with pytest.raises(ValidationError):
        mailqueue.enqueue(db_session, Message(to=["x", ""], subject="s", body="b"))
