"""The mail outbox: messages are rows written in the transaction that causes them, sent later.

A verb that notifies calls ``enqueue`` with the same session as its other writes: if the unit
of work rolls back, no message exists; if it commits, the message will go. The mail worker
(``intranet mail-worker``) calls ``deliver_due`` in a loop: it claims due rows atomically (a
conditional UPDATE that only one worker can win, so two workers never send one message
twice), sends each through a ``documents.mail.Mailer`` (SMTP or the folder of ``.eml``
files) and records the outcome. A failure is retried after an exponential delay; after
``max_attempts`` the message is « dead » and waits for an administrator (``retry``).
"""

from __future__ import annotations

import base64
import datetime as dt
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from documents import audit
from documents.db import utcnow
from documents.errors import NotFound, ValidationError
from documents.mail import MAX_SUBJECT, Attachment, Mailer, MailError, Message, one_line, valid_address
from documents.models import MailOutbox, MailState, User
from documents.unitofwork import unit_of_work

logger = logging.getLogger(__name__)

#: Attempts before a message is dead (configurable: ``MAIL_MAX_ATTEMPTS``).
DEFAULT_MAX_ATTEMPTS = 8
#: First retry delay in seconds, doubled at each failure (``MAIL_RETRY_DELAY``), capped at ``MAX_DELAY``.
DEFAULT_BASE_DELAY = 60.0
MAX_DELAY = 6 * 3600.0
#: How long a claimed message stays reserved to its worker; if the worker dies, it is retried after.
LEASE = dt.timedelta(minutes=5)
_DUE_STATES = (MailState.PENDING.value, MailState.FAILED.value, MailState.SENDING.value)


def enqueue(session: Session, message: Message, *, origin: str = "") -> MailOutbox:
    """Add ``message`` to the outbox in the caller's transaction (only flushed, never committed)."""
    recipients = sorted({a.strip().lower() for a in message.to if valid_address(a.strip())})
    if not recipients:
        raise ValidationError("Aucun destinataire valide : le message n'a pas été mis en file.")
    row = MailOutbox(
        recipients=recipients, subject=one_line(message.subject, limit=MAX_SUBJECT), body=message.body,
        html=message.html or "",
        attachments=[{"filename": a.filename, "content_type": a.content_type,
                      "data": base64.b64encode(a.data).decode("ascii")} for a in message.attachments],
        origin=origin[:100], state=MailState.PENDING.value, attempts=0, next_attempt_at=utcnow(),
        last_error="",
    )
    session.add(row)
    session.flush()
    return row


def as_message(row: MailOutbox) -> Message:
    """The ``Message`` a mailer sends for this row."""
    return Message(to=list(row.recipients), subject=row.subject, body=row.body,
                   attachments=[Attachment(a["filename"], a["content_type"], base64.b64decode(a["data"]))
                                for a in row.attachments], html=row.html or "")


def retry_delay(attempts: int, base: float = DEFAULT_BASE_DELAY) -> float:
    """Seconds before the next attempt after ``attempts`` failures: base, 2×base, 4×base… capped."""
    return float(min(MAX_DELAY, base * (2 ** max(0, attempts - 1))))


def claim(session: Session, *, now: dt.datetime | None = None, limit: int = 20) -> list[int]:
    """Reserve up to ``limit`` due messages for this worker; returns their ids (the caller commits)."""
    now = now or utcnow()
    candidates = session.scalars(
        select(MailOutbox.id).where(MailOutbox.state.in_(_DUE_STATES), MailOutbox.next_attempt_at <= now)
        .order_by(MailOutbox.next_attempt_at, MailOutbox.id).limit(limit)
    ).all()
    claimed = []
    for message_id in candidates:
        # Conditional update: if another worker claimed the row meanwhile, the WHERE no longer matches.
        result = session.execute(
            update(MailOutbox)
            .where(MailOutbox.id == message_id, MailOutbox.state.in_(_DUE_STATES),
                   MailOutbox.next_attempt_at <= now)
            .values(state=MailState.SENDING.value, attempts=MailOutbox.attempts + 1, next_attempt_at=now + LEASE)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:  # type: ignore[attr-defined]  # an UPDATE's result is a CursorResult; SQLAlchemy types execute() as Result
            claimed.append(message_id)
    return claimed


@dataclass
class DeliveryReport:
    """What one pass of the worker did."""

    sent: int = 0
    failed: int = 0
    dead: int = 0
    errors: list[str] = field(default_factory=list)


def deliver_due(factory: sessionmaker[Session], mailer: Mailer, *, limit: int = 20,
                max_attempts: int = DEFAULT_MAX_ATTEMPTS, base_delay: float = DEFAULT_BASE_DELAY) -> DeliveryReport:
    """Claim the due messages (one unit of work), then send each and record it (one unit of work each)."""
    report = DeliveryReport()
    with unit_of_work(factory) as session:
        ids = claim(session, limit=limit)
    for message_id in ids:
        with unit_of_work(factory) as session:
            row = session.get(MailOutbox, message_id)
            if row is None:
                continue
            try:
                mailer.send(as_message(row))
            except MailError as exc:
                row.last_error = exc.message[:2000]
                if row.attempts >= max_attempts:
                    row.state = MailState.DEAD.value
                    report.dead += 1
                    logger.error("mail %s dead after %s attempts: %s", row.id, row.attempts, exc.message)
                else:
                    row.state = MailState.FAILED.value
                    row.next_attempt_at = utcnow() + dt.timedelta(seconds=retry_delay(row.attempts, base_delay))
                    report.failed += 1
                    logger.warning("mail %s failed (attempt %s): %s", row.id, row.attempts, exc.message)
                report.errors.append(exc.message)
                continue
            row.state, row.sent_at, row.last_error = MailState.SENT.value, utcnow(), ""
            report.sent += 1
    return report


def run_worker(factory: sessionmaker[Session], mailer: Mailer, *, stop: threading.Event, interval: float = 2.0,
               max_attempts: int = DEFAULT_MAX_ATTEMPTS, base_delay: float = DEFAULT_BASE_DELAY,
               heartbeat: Callable[[], None] | None = None) -> None:
    """Deliver due messages until ``stop`` is set; a database outage is logged and retried, never fatal."""
    while not stop.is_set():
        if heartbeat is not None:
            heartbeat()
        try:
            report = deliver_due(factory, mailer, max_attempts=max_attempts, base_delay=base_delay)
        except Exception:  # noqa: BLE001 - the loop outlives a database restart; the heartbeat says it runs
            logger.exception("mail worker pass failed")
            report = DeliveryReport()
        if not (report.sent or report.failed or report.dead):
            stop.wait(interval)


def retry(session: Session, message_id: int, *, actor: User | None, ip: str = "") -> MailOutbox:
    """Give a dead (or failed) message a fresh series of attempts, now."""
    row = session.get(MailOutbox, message_id)
    if row is None:
        raise NotFound("Message introuvable.")
    if row.state not in (MailState.DEAD.value, MailState.FAILED.value):
        raise ValidationError("Seul un message abandonné ou en échec peut être renvoyé.")
    row.state, row.attempts, row.next_attempt_at = MailState.PENDING.value, 0, utcnow()
    audit.record(session, "mail.retry", actor=actor, object_type="mail", object_id=row.id, ip=ip,
                 details={"subject": row.subject})
    session.flush()
    return row


def list_messages(session: Session, *, state: str | None = None, limit: int = 200) -> list[MailOutbox]:
    """Messages of the outbox, newest first (optionally of one state)."""
    stmt = select(MailOutbox).order_by(MailOutbox.id.desc()).limit(limit)
    if state:
        stmt = stmt.where(MailOutbox.state == state)
    return list(session.scalars(stmt))


@dataclass(frozen=True)
class OutboxStats:
    """Depth of the outbox, for ``/sante`` and the administrators' page."""

    pending: int
    failed: int
    dead: int
    oldest_pending_age: float | None  # seconds, of the oldest message not yet sent (nor dead)


def stats(session: Session, *, now: dt.datetime | None = None) -> OutboxStats:
    """Count messages by state and age the oldest one still waiting."""
    now = now or utcnow()
    counts = dict(session.execute(select(MailOutbox.state, func.count()).group_by(MailOutbox.state)).all())
    oldest = session.scalar(select(func.min(MailOutbox.created_at)).where(MailOutbox.state.in_(_DUE_STATES)))
    age = None
    if oldest is not None:
        oldest = oldest if oldest.tzinfo else oldest.replace(tzinfo=dt.UTC)
        age = max(0.0, (now - oldest).total_seconds())
    return OutboxStats(
        pending=int(counts.get(MailState.PENDING.value, 0)) + int(counts.get(MailState.SENDING.value, 0)),
        failed=int(counts.get(MailState.FAILED.value, 0)), dead=int(counts.get(MailState.DEAD.value, 0)),
        oldest_pending_age=age,
    )
