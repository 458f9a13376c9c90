"""The personal iCalendar feed of deadlines: one all-day event per date in the user's scope.

A calendar application subscribes to an address holding a personal, revocable token
(``ech_…``; only its SHA-256 is stored, through ``documents.tokens``). Reading the feed
writes nothing: the token lookup and the list are plain SELECTs, so a calendar polling
every few minutes costs no write.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable

from sqlalchemy.orm import Session

from documents import deadline_lists
from documents.calendar import PRODID, UID_DOMAIN
from documents.db import utcnow
from documents.feed_tokens import FeedTokens
from documents.models import DeadlineFeedToken, User

#: Kind prefix of the feed tokens.
TOKEN_KIND = "ech_"
#: Dates shown: from this many days ago to ``FEED_DAYS`` ahead (a calendar keeps what it already read).
PAST_DAYS = 90
FEED_DAYS = 2 * 366
#: Events in one feed at most, the earliest first (a bound on the answer, whatever the archive holds).
MAX_EVENTS = 3000
FEED_NAME = "Échéances – Passeurs d'images"
#: Control characters other than the line feed: not allowed in an iCalendar text value.
_CONTROLS = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]")


#: The deadline feeds' tokens.
TOKENS = FeedTokens(DeadlineFeedToken, kind=TOKEN_KIND, action="deadlines.feed", object_type="deadline_feed")


def create_feed_token(session: Session, user: User, *, ip: str = "") -> str:
    """A new feed token for ``user`` (the previous one stops working); the plaintext is returned once."""
    return TOKENS.create(session, user, ip=ip)


def revoke_feed_tokens(session: Session, user: User, *, ip: str = "") -> int:
    """Revoke ``user``'s live feed tokens (audited); how many were live."""
    return TOKENS.revoke(session, user, ip=ip)


def feed_token_info(session: Session, user: User) -> DeadlineFeedToken | None:
    """``user``'s live feed token (its beginning and date only), if any."""
    return TOKENS.live(session, user)


def user_for_feed_token(session: Session, plaintext: str) -> User | None:
    """The active owner of a live feed token, or None (nothing tells which part was wrong). Read only."""
    token = TOKENS.find(session, plaintext)
    if token is None:
        return None
    owner: User = token.user
    return owner


def feed_deadlines(session: Session, user: User, *, today: dt.date) -> list[deadline_lists.UpcomingDeadline]:
    """The dates ``user`` may see, from ``PAST_DAYS`` ago to ``FEED_DAYS`` ahead, handled ones included."""
    return deadline_lists.upcoming_deadlines(session, user, today=today, days=FEED_DAYS, from_days=-PAST_DAYS,
                                             limit=MAX_EVENTS)


def deadline_uid(item: deadline_lists.UpcomingDeadline) -> str:
    """Stable UID of one date (document, term, kind): an edited date replaces its event in calendars."""
    d = item.deadline
    return f"echeance-{d.document_id}-{d.renewal}-{d.kind}@{UID_DOMAIN}"


def summary(item: deadline_lists.UpcomingDeadline) -> str:
    """The event's title, in French: « Échéance – Convention … »."""
    text = f"{item.deadline.label} – {item.document.title}"
    if item.handling is not None:
        text += f" (traitée : {item.handling.outcome_label.lower()})"
    return text


def _text(value: str) -> str:
    """An iCalendar TEXT value: backslash, semicolon, comma and line breaks escaped, other controls dropped."""
    value = _CONTROLS.sub(" ", value.replace("\r\n", "\n").replace("\r", "\n"))
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _fold(line: str) -> str:
    """``line`` folded at 75 octets (RFC 5545 § 3.1), never inside a UTF-8 character."""
    if len(line) <= 37 or len(line.encode("utf-8")) <= 75:
        return line + "\r\n"
    parts, current, size = [], "", 0
    for ch in line:
        width = len(ch.encode("utf-8"))
        if size + width > 75:
            parts.append(current)
            current, size = " ", 1
        current += ch
        size += width
    parts.append(current)
    return "\r\n".join(parts) + "\r\n"


def deadlines_ics(items: Iterable[deadline_lists.UpcomingDeadline], *, document_url: Callable[[int], str],
                  now: dt.datetime | None = None) -> bytes:
    """An .ics feed with one all-day event per date (already filtered by the caller's scope).

    Written line by line rather than through ``icalendar`` objects: a feed of thousands of dates
    took a second per thousand events that way, and calendar clients poll it all day long.
    """
    stamp = (now or utcnow()).astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    lines = ["BEGIN:VCALENDAR", f"PRODID:{_text(PRODID)}", "VERSION:2.0", "CALSCALE:GREGORIAN", "METHOD:PUBLISH",
             f"X-WR-CALNAME:{_text(FEED_NAME)}"]
    for item in items:
        doc, d = item.document, item.deadline
        url = document_url(doc.id)
        description = "\n".join([
            f"{doc.type_label} – {doc.region_label}",
            f"{d.label} du {d.date:%d/%m/%Y}" + (f" (terme {d.renewal + 1})" if d.renewal else ""),
            f"État : {item.state_label}",
            f"Document : {url}",
        ])
        lines += [
            "BEGIN:VEVENT",
            f"UID:{_text(deadline_uid(item))}",
            f"DTSTAMP:{stamp}",
            f"DTSTART;VALUE=DATE:{d.date:%Y%m%d}",
            f"DTEND;VALUE=DATE:{d.date + dt.timedelta(days=1):%Y%m%d}",
            f"SUMMARY:{_text(summary(item))}",
            f"DESCRIPTION:{_text(description)}",
            f"URL:{url}",
            "TRANSP:TRANSPARENT",
            "CATEGORIES:Échéance",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "".join(_fold(line) for line in lines).encode("utf-8")
