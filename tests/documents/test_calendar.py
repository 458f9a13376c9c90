"""iCalendar events and the Atom feed of approved minutes, read back with real parsers."""

from __future__ import annotations

import datetime as dt
from xml.etree import ElementTree as ET

from icalendar import Calendar

from documents import calendar
from documents.models import AgendaItem, Committee, Decision, Meeting

UTC = dt.UTC
ATOM = "{http://www.w3.org/2005/Atom}"


def meeting(pk: int = 7, **overrides: object) -> Meeting:
    """A transient meeting: the calendar functions never touch the database."""
    values: dict[str, object] = {
        "id": pk, "title": "Comité; de printemps, 2026", "region_code": "11",
        "starts_at": dt.datetime(2026, 3, 12, 13, 0),  # naive UTC, as SQLite gives it back
        "ends_at": None, "place": "DRAC, 47 rue Le Peletier\nParis", "visio_url": "https://visio.example/x",
        "status": "planifiee", "sequence": 2, "created_at": dt.datetime(2026, 1, 5, 9, 0, tzinfo=UTC),
        "updated_at": dt.datetime(2026, 2, 1, 9, 0, tzinfo=UTC),
    }
    values.update(overrides)
    m = Meeting(**values)
    m.committee = Committee(name="Comité de pilotage régional – Île-de-France", level="regional")
    m.agenda = [AgendaItem(position=0, title="Bilan <2025>"), AgendaItem(position=1, title="Projets")]
    return m


def event_of(data: bytes) -> object:
    cal = Calendar.from_ical(data)
    [event] = list(cal.walk("VEVENT"))
    return event


def test_meeting_event_round_trips() -> None:
    data = calendar.meeting_ics(meeting(), url="https://intranet.test/comites/reunions/7")
    cal = Calendar.from_ical(data)
    assert str(cal["method"]) == "PUBLISH" and str(cal["version"]) == "2.0"
    event = event_of(data)
    assert str(event["uid"]) == "reunion-7@intranet.passeurs-images"
    assert event.decoded("dtstart") == dt.datetime(2026, 3, 12, 13, 0, tzinfo=UTC)
    # No end given: the event lasts the default two hours.
    assert event.decoded("dtend") == dt.datetime(2026, 3, 12, 15, 0, tzinfo=UTC)
    assert str(event["summary"]) == "Comité; de printemps, 2026 – Comité de pilotage régional – Île-de-France"
    assert str(event["location"]) == "DRAC, 47 rue Le Peletier\nParis"
    description = str(event["description"])
    assert "Visioconférence : https://visio.example/x" in description
    assert "1. Bilan <2025>\n2. Projets" in description
    assert description.endswith("Détails : https://intranet.test/comites/reunions/7")
    assert int(event["sequence"]) == 2 and str(event["status"]) == "CONFIRMED"
    assert b"\r\n" in data and all(len(line) <= 75 for line in data.split(b"\r\n"))


def test_cancelled_and_explicit_end() -> None:
    m = meeting(status="annulee", ends_at=dt.datetime(2026, 3, 12, 17, 30, tzinfo=dt.timezone(dt.timedelta(hours=1))),
                place="", sequence=None)
    event = event_of(calendar.meeting_ics(m))
    assert str(event["status"]) == "CANCELLED" and int(event["sequence"]) == 0
    assert event.decoded("dtend") == dt.datetime(2026, 3, 12, 16, 30, tzinfo=UTC)
    assert str(event["location"]) == "https://visio.example/x"
    assert "url" not in event


def test_feed_has_one_event_per_meeting() -> None:
    data = calendar.feed_ics([meeting(1), meeting(2), meeting(3)], name="Comités",
                             url_for=lambda m: f"https://i.test/{m.id}")
    cal = Calendar.from_ical(data)
    assert [str(e["uid"]) for e in cal.walk("VEVENT")] == [f"reunion-{i}@intranet.passeurs-images" for i in (1, 2, 3)]
    assert [str(e["url"]) for e in cal.walk("VEVENT")] == ["https://i.test/1", "https://i.test/2", "https://i.test/3"]
    assert str(cal["x-wr-calname"]) == "Comités"
    assert list(Calendar.from_ical(calendar.feed_ics([], name="Vide")).walk("VEVENT")) == []


def test_atom_feed() -> None:
    first = meeting(1, minutes_approved_at=dt.datetime(2026, 3, 20, 8, 0), minutes_approved_version=2,
                    title="<script>alert(1)</script>")
    first.decisions = [Decision(kind="decision", text="Le bilan & les comptes sont adoptés.", position=0)]
    second = meeting(2, region_code=None, minutes_approved_at=dt.datetime(2026, 4, 2, 8, 0, tzinfo=UTC),
                     minutes_approved_version=1)
    data = calendar.minutes_atom([second, first], feed_url="https://i.test/flux.atom", site_url="https://i.test/",
                                 url_for=lambda m: f"https://i.test/reunions/{m.id}")
    root = ET.fromstring(data)
    assert root.tag == f"{ATOM}feed"
    assert root.find(f"{ATOM}updated").text == "2026-04-02T08:00:00Z"
    entries = root.findall(f"{ATOM}entry")
    assert [e.find(f"{ATOM}id").text for e in entries] == [
        "tag:intranet.passeurs-images,2009:compte-rendu:2:v1", "tag:intranet.passeurs-images,2009:compte-rendu:1:v2"]
    assert [e.find(f"{ATOM}link").get("href") for e in entries] == [
        "https://i.test/reunions/2", "https://i.test/reunions/1"]
    summary = entries[1].find(f"{ATOM}summary").text
    assert summary.startswith("<script>alert(1)</script>. Compte rendu approuvé (version 2).")
    assert "Le bilan & les comptes sont adoptés." in summary
    assert b"<script>" not in data and b"&lt;script&gt;" in data
    assert [e.find(f"{ATOM}category").get("term") for e in entries] == ["national", "11"]
    assert entries[1].find(f"{ATOM}title").text == "Compte rendu – Comité de pilotage régional – Île-de-France – 12/03/2026"
    empty = ET.fromstring(calendar.minutes_atom([], feed_url="u", site_url="s", url_for=str))
    assert empty.findall(f"{ATOM}entry") == [] and empty.find(f"{ATOM}updated").text == "2009-10-26T00:00:00Z"
