"""Deadline alerts by e-mail: one digest per user of the dates in their scope at 90, 30 and 7 days, and overdue.

``notify_deadlines`` is the verb of ``intranet deadlines-notify`` and of the daily scheduler.
A date is announced once per threshold it reaches: « Dans 90 jours » (31 to 90 days ahead),
« Dans 30 jours » (8 to 30), « Dans 7 jours » (0 to 7) and « Dépassées » (passed, no outcome
recorded: the rule of the échéances page). Thresholds are ranges, not exact days, so that a
run missed on the day a date was exactly 30 days ahead is caught up by the next run.

Each alert sent is a ``DeadlineAlert`` row written in the same transaction as the message's
outbox row (``documents.mailqueue``): if the transaction rolls back, neither exists; if it
commits, a second run finds the rows and sends nothing twice. A concurrent run collides with
the unique key and rolls back whole.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from documents import audit, deadline_lists, mailqueue, permissions
from documents.mail import Message, valid_address
from documents.models import DeadlineAlert, User

#: Threshold keys, in the order of the message's sections, with their French titles.
OVERDUE = "depassee"
SECTIONS: tuple[tuple[str, str], ...] = (
    (OVERDUE, "Dépassées"), ("7", "Dans 7 jours"), ("30", "Dans 30 jours"), ("90", "Dans 90 jours"),
)
#: Upper bound (days ahead, included) of each upcoming threshold, nearest first.
THRESHOLD_DAYS: tuple[tuple[int, str], ...] = ((7, "7"), (30, "30"), (90, "90"))
HORIZON = THRESHOLD_DAYS[-1][0]
#: Dates listed per section of one message; the others are counted and left to the échéances page.
MAX_LISTED = 50
#: Subject prefix shared with the other notifications.
SUBJECT_PREFIX = "[Passeurs d'images]"


@dataclass(frozen=True)
class AlertLinks:
    """Absolute addresses the messages point to (built by the edge from ``INTRANET_BASE_URL``)."""

    document_url: Callable[[int], str]
    deadlines_url: str
    profile_url: str


@dataclass
class NotifyReport:
    """What one run did."""

    today: dt.date
    users: int = 0  # accounts considered (active, opted in, with an address)
    messages: int = 0
    alerts: int = 0
    purged: int = 0
    recipients: list[str] = field(default_factory=list)


def threshold(days_left: int) -> str | None:
    """The section a date ``days_left`` days ahead belongs to (negative: passed), None beyond 90 days."""
    if days_left < 0:
        return OVERDUE
    for upper, key in THRESHOLD_DAYS:
        if days_left <= upper:
            return key
    return None


AlertKey = tuple[int, int, str, dt.date, str]


def _key(item: deadline_lists.UpcomingDeadline, key: str) -> AlertKey:
    d = item.deadline
    return d.document_id, d.renewal, d.kind, d.date, key


def due_in_scope(session: Session, user: User, *, today: dt.date) -> list[tuple[str, deadline_lists.UpcomingDeadline]]:
    """Every date ``user`` may see that an alert is for today: overdue ones, then 0 to 90 days ahead, unhandled."""
    out = [(OVERDUE, item) for item in deadline_lists.overdue_deadlines(session, user, today=today)]
    for item in deadline_lists.upcoming_deadlines(session, user, today=today, days=HORIZON):
        key = threshold(item.days_left)
        if item.handling is None and key is not None and key != OVERDUE:
            out.append((key, item))
    return out


def _already_sent(session: Session, user: User, *, since: dt.date) -> set[AlertKey]:
    rows = session.execute(select(DeadlineAlert.document_id, DeadlineAlert.term, DeadlineAlert.kind,
                                  DeadlineAlert.date, DeadlineAlert.threshold)
                           .where(DeadlineAlert.user_id == user.id, DeadlineAlert.date >= since))
    return {(r[0], r[1], r[2], r[3], r[4]) for r in rows}


def recipients(session: Session) -> list[User]:
    """Accounts that receive alerts: active, opted in, with a valid address; by id."""
    users = session.scalars(select(User).where(User.active.is_(True), User.deadline_alerts.is_(True))
                            .order_by(User.id)).all()
    return [u for u in users if valid_address(u.email)]


def notify_deadlines(session: Session, *, today: dt.date, links: AlertLinks) -> NotifyReport:
    """Queue one digest per user with the alerts not sent yet, and record each alert; only flushes."""
    report = NotifyReport(today=today)
    since = today - dt.timedelta(days=deadline_lists.OVERDUE_DAYS)
    # Older dates can no longer be alerted (« Dépassées » stops at one year): their records go.
    report.purged = int(session.execute(delete(DeadlineAlert).where(DeadlineAlert.date < since)
                                        ).rowcount or 0)  # type: ignore[attr-defined]  # an UPDATE's result is a CursorResult; SQLAlchemy types execute() as Result
    # Accounts of one scope (every national account, say) see the same dates: computed once.
    by_scope: dict[frozenset[str] | None, list[tuple[str, deadline_lists.UpcomingDeadline]]] = {}
    for user in recipients(session):
        scope = permissions.visible_regions(user)
        if scope is not None and not scope:
            continue
        report.users += 1
        if scope not in by_scope:
            by_scope[scope] = due_in_scope(session, user, today=today)
        sent = _already_sent(session, user, since=since)
        fresh = [(key, item) for key, item in by_scope[scope] if _key(item, key) not in sent]
        if not fresh:
            continue
        row = mailqueue.enqueue(session, compose(user, fresh, today=today, links=links),
                                origin=f"deadlines:{today.isoformat()}")
        session.add_all(DeadlineAlert(user_id=user.id, document_id=item.deadline.document_id,
                                      term=item.deadline.renewal, kind=item.deadline.kind, date=item.deadline.date,
                                      threshold=key, outbox_id=row.id) for key, item in fresh)
        session.flush()
        report.messages += 1
        report.alerts += len(fresh)
        report.recipients.append(user.email)
    if report.messages:
        audit.record(session, "deadlines.notify", actor_email="planificateur", object_type="deadline_alerts",
                     object_id=today.isoformat(), details={"messages": report.messages, "alerts": report.alerts})
        session.flush()
    return report


def _grouped(fresh: Sequence[tuple[str, deadline_lists.UpcomingDeadline]]
             ) -> list[tuple[str, list[deadline_lists.UpcomingDeadline]]]:
    groups: dict[str, list[deadline_lists.UpcomingDeadline]] = {}
    for key, item in fresh:
        groups.setdefault(key, []).append(item)
    return [(title, sorted(groups[key], key=lambda i: (i.deadline.date, i.document.title.lower(), i.document.id)))
            for key, title in SECTIONS if key in groups]


def _line(item: deadline_lists.UpcomingDeadline) -> str:
    doc = item.document
    return f"{item.deadline.date:%d/%m/%Y} – {item.deadline.label} – {doc.title} ({doc.type_label}, {doc.region_label})"


def _subject(groups: list[tuple[str, list[deadline_lists.UpcomingDeadline]]]) -> str:
    counts = {title: len(items) for title, items in groups}
    parts = []
    if "Dépassées" in counts:
        n = counts.pop("Dépassées")
        parts.append(f"{n} dépassée{'s' if n > 1 else ''}")
    ahead = sum(counts.values())
    if ahead:
        parts.append(f"{ahead} à venir")
    return f"{SUBJECT_PREFIX} Échéances : " + ", ".join(parts)


def compose(user: User, fresh: Sequence[tuple[str, deadline_lists.UpcomingDeadline]], *, today: dt.date,
            links: AlertLinks) -> Message:
    """The digest: plain text and HTML (every value escaped), grouped « Dépassées », « Dans 7 jours »…"""
    groups = _grouped(fresh)
    name = user.name or user.email
    intro = (f"Voici les dates des accords de votre périmètre qui demandent votre attention "
             f"(situation au {today:%d/%m/%Y}).")
    outro_list = f"Toutes les échéances : {links.deadlines_url}"
    opt_out = ("Pour ne plus recevoir ces alertes, décochez « Recevoir les alertes d'échéances par courriel » "
               "dans votre profil :")
    text = [f"Bonjour {name},", "", intro, ""]
    e = html.escape
    parts = [f"<p>Bonjour {e(name)},</p>", f"<p>{e(intro)}</p>"]
    for title, items in groups:
        text += [f"{title} ({len(items)})", "-" * len(title)]
        parts.append(f"<h2>{e(title)} ({len(items)})</h2>")
        parts.append("<ul>")
        for item in items[:MAX_LISTED]:
            url = links.document_url(item.document.id)
            text += [f"- {_line(item)}", f"  {url}"]
            parts.append(f'<li><a href="{e(url)}">{e(_line(item))}</a></li>')
        parts.append("</ul>")
        if len(items) > MAX_LISTED:
            more = f"… et {len(items) - MAX_LISTED} autre(s) : voir la page Échéances."
            text.append(more)
            parts.append(f"<p>{e(more)}</p>")
        text.append("")
    text += [outro_list, "", opt_out, links.profile_url]
    parts.append(f'<p><a href="{e(links.deadlines_url)}">Toutes les échéances</a></p>')
    parts.append(f'<p>{e(opt_out)} <a href="{e(links.profile_url)}">{e(links.profile_url)}</a></p>')
    body_html = ('<!DOCTYPE html>\n<html lang="fr"><head><meta charset="utf-8"><title>Échéances</title></head>'
                 "<body>" + "\n".join(parts) + "</body></html>")
    return Message(to=[user.email], subject=_subject(groups), body="\n".join(text), html=body_html)


def set_alert_preference(session: Session, user: User, *, enabled: bool, ip: str = "") -> None:
    """Turn ``user``'s deadline alerts on or off (audited); only flushes."""
    if bool(user.deadline_alerts) == bool(enabled):
        return
    user.deadline_alerts = bool(enabled)
    audit.record(session, "account.deadline_alerts", actor=user, object_type="user", object_id=user.id, ip=ip,
                 details={"enabled": bool(enabled)})
    session.flush()
