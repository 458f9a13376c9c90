"""Calendar and news feeds of meetings: iCalendar (.ics) events and an Atom feed of approved minutes.

Functions take meetings already filtered by the caller's permissions and plain URLs;
they never query the database, so a feed can never show more than it was given.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from xml.etree import ElementTree as ET

from icalendar import Calendar, Event

from documents.models import Meeting

PRODID = "-//Passeurs d'images//Intranet//FR"
UID_DOMAIN = "intranet.passeurs-images"
DEFAULT_DURATION = dt.timedelta(hours=2)
ATOM_NS = "http://www.w3.org/2005/Atom"


def aware(value: dt.datetime) -> dt.datetime:
    """A timezone-aware datetime (SQLite gives naive UTC values back)."""
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def meeting_uid(meeting: Meeting) -> str:
    """Stable iCalendar UID of a meeting, so that updates replace the event in calendars."""
    return f"reunion-{meeting.id}@{UID_DOMAIN}"


def _event(meeting: Meeting, url: str) -> Event:
    start = aware(meeting.starts_at).astimezone(dt.UTC)
    end = aware(meeting.ends_at).astimezone(dt.UTC) if meeting.ends_at else start + DEFAULT_DURATION
    event = Event()
    event.add("uid", meeting_uid(meeting))
    event.add("dtstamp", aware(meeting.updated_at or meeting.created_at).astimezone(dt.UTC))
    event.add("dtstart", start)
    event.add("dtend", end)
    event.add("summary", f"{meeting.title} – {meeting.committee.name}")
    location = meeting.place or meeting.visio_url
    if location:
        event.add("location", location)
    lines = []
    if meeting.place and meeting.visio_url:
        lines.append(f"Visioconférence : {meeting.visio_url}")
    if meeting.agenda:
        lines.append("Ordre du jour :")
        lines.extend(f"{i}. {item.title}" for i, item in enumerate(meeting.agenda, start=1))
    if url:
        lines.append(f"Détails : {url}")
        event.add("url", url)
    if lines:
        event.add("description", "\n".join(lines))
    event.add("sequence", meeting.sequence or 0)
    event.add("status", "CANCELLED" if meeting.cancelled else "CONFIRMED")
    return event


def _calendar(name: str) -> Calendar:
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    return cal


def meeting_ics(meeting: Meeting, *, url: str = "") -> bytes:
    """An .ics file with the one event of ``meeting``."""
    cal = _calendar(meeting.committee.name)
    cal.add_component(_event(meeting, url))
    return bytes(cal.to_ical())


def feed_ics(meetings: Iterable[Meeting], *, name: str, url_for: Callable[[Meeting], str] | None = None) -> bytes:
    """An .ics feed with one event per meeting (already filtered by the caller)."""
    cal = _calendar(name)
    for meeting in meetings:
        cal.add_component(_event(meeting, url_for(meeting) if url_for else ""))
    return bytes(cal.to_ical())


def _rfc3339(value: dt.datetime) -> str:
    return aware(value).astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def minutes_atom(meetings: Iterable[Meeting], *, feed_url: str, site_url: str,
                 url_for: Callable[[Meeting], str], title: str = "Comptes rendus approuvés") -> bytes:
    """An Atom feed with one entry per approved minutes (meetings already filtered and ordered)."""
    ET.register_namespace("", ATOM_NS)

    def sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        element = ET.SubElement(parent, f"{{{ATOM_NS}}}{tag}", attrs)
        if text is not None:
            element.text = text
        return element

    items = list(meetings)
    feed = ET.Element(f"{{{ATOM_NS}}}feed")
    sub(feed, "id", feed_url)
    sub(feed, "title", title)
    newest = max((aware(m.minutes_approved_at) for m in items if m.minutes_approved_at), default=None)
    sub(feed, "updated", _rfc3339(newest or dt.datetime(2009, 10, 26, tzinfo=dt.UTC)))
    sub(feed, "link", rel="self", href=feed_url)
    sub(feed, "link", rel="alternate", href=site_url)
    author = sub(feed, "author")
    sub(author, "name", "Intranet Passeurs d'images")
    for meeting in items:
        approved = meeting.minutes_approved_at or meeting.updated_at
        entry = sub(feed, "entry")
        # The id changes with the approved version, so that a re-approval is a new entry.
        sub(entry, "id", f"tag:{UID_DOMAIN},2009:compte-rendu:{meeting.id}:v{meeting.minutes_approved_version}")
        start = aware(meeting.starts_at).astimezone(dt.UTC)
        sub(entry, "title", f"Compte rendu – {meeting.committee.name} – {start:%d/%m/%Y}")
        sub(entry, "updated", _rfc3339(approved))
        sub(entry, "link", rel="alternate", href=url_for(meeting))
        summary = f"{meeting.title}. Compte rendu approuvé (version {meeting.minutes_approved_version})."
        if meeting.decisions:
            summary += " Décisions : " + " ; ".join(d.text for d in meeting.decisions[:10])
        sub(entry, "summary", summary[:2000])
        sub(entry, "category", term=meeting.region_code or "national", label=meeting.region_label)
    return bytes(ET.tostring(feed, encoding="utf-8", xml_declaration=True))
