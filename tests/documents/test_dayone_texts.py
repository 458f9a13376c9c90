"""Generated texts have no holes: a blank signature date leaves a line, no « () » in minutes."""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from typing import Any

import pytest

from documents import generation
from documents.committees.attendance import record_attendance
from documents.committees.dates import paris_datetime
from documents.committees.meetings import MeetingInput, schedule_meeting
from documents.committees.members import add_member
from documents.committees.minutes import render_minutes
from testkit import committee, docx_text, user, with_committees

LINE = "____________"


def _all_text(data: bytes) -> str:
    # Body, tables, headers and footers: every word/*.xml part of the .docx.
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        parts = [n for n in package.namelist() if re.fullmatch(r"word/(document|header\d*|footer\d*)\.xml", n)]
        xml = " ".join(package.read(n).decode("utf-8") for n in parts)
    return re.sub(r"<[^>]+>", "", xml.replace("</w:p>", "\n"))


def _render(slug: str, **overrides: Any) -> bytes:
    data = generation.builtin_model(slug).read_bytes()
    specs = generation.fields_for(data)
    raw = {**generation.sample_values(specs), **overrides}
    values, errors = generation.validate_values(specs, raw)
    assert errors == {}
    return generation.render(data, values)


@pytest.mark.parametrize("slug", ["convention-drac-coordination", "avenant", "contrat-objectifs",
                                  "convention-cadre-signataires"])
def test_empty_signature_date_leaves_a_line_to_fill_in(slug: str) -> None:
    specs = {s.name for s in generation.fields_for(generation.builtin_model(slug).read_bytes())}
    if "date_signature" not in specs:
        pytest.skip(f"{slug} has no signature date")
    blank = _all_text(_render(slug, date_signature="", lieu_signature="Paris"))
    assert f"Fait à Paris, le {LINE}" in blank
    assert "le ," not in blank and "le  ," not in blank and not re.search(r"Paris, *\n", blank)
    dated = _all_text(_render(slug, date_signature="2026-02-15", lieu_signature="Paris"))
    assert "Fait à Paris, le 15 février 2026" in dated and LINE not in dated


def test_protocol_header_has_no_dangling_comma_without_a_date() -> None:
    blank = _all_text(_render("convention-cadre-signataires", date_signature="", lieu_signature="Paris"))
    assert "Protocole national «\xa0Passeurs d’images\xa0» – Paris\n" in blank


def test_minutes_have_no_empty_parentheses(db_session: Any) -> None:
    session = with_committees(db_session)
    idf = user(session, "idf")
    com = committee(session, "regional-11")
    add_member(session, com, actor=idf, name="Paul Martin", organisation="")
    add_member(session, com, actor=idf, name="Nadia Benali", organisation="Méliès")
    day = dt.date(2026, 3, 12)
    meeting = schedule_meeting(session, com, actor=idf, data=MeetingInput(
        starts_at=paris_datetime(day, dt.time(14)), ends_at=paris_datetime(day, dt.time(16)),
        title="Comité de printemps", place="Paris", agenda=["Bilan"]))
    by_name = {a.name: a for a in meeting.attendance}
    record_attendance(session, meeting, actor=idf, entries={
        by_name["Paul Martin"].id: ("excuse", ""), by_name["Nadia Benali"].id: ("excuse", "")})
    text = docx_text(render_minutes(session, meeting))
    assert "Paul Martin, Membre\n" in text + "\n"
    assert "Nadia Benali, Membre (Méliès)" in text
    assert "()" not in text and ", ()" not in text
