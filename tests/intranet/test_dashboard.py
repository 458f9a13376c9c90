"""« Mon tableau de bord »: what waits for me, scoped by role and region, with figures linking to their lists."""

from __future__ import annotations

import datetime as dt
import html
import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

import samplefiles as sf
from documents import archive, dashboard
from documents.committees.actions import add_action
from documents.committees.dates import paris_datetime
from documents.committees.meetings import MeetingInput, schedule_meeting
from documents.committees.minutes import draft_minutes, submit_minutes
from documents.storage import LocalStorage
from testkit import committee, login_client, user, with_committees

TODAY = dt.date.today()


@pytest.fixture
def session(db_session: Any) -> Any:
    return with_committees(db_session)


def text(response: Any) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))))


def agreement(app: Any, session: Any, title: str, region: str | None, end: dt.date, who: str = "admin") -> Any:
    path = Path(app.config["DATA_DIR"]) / f"in-{title}.docx"
    path.write_bytes(sf.make_docx([title]))
    doc = archive.archive_document(session, LocalStorage(app.config["STORAGE_DIR"]), actor=user(session, who),
                                   path=path, filename=f"{title}.docx",
                                   meta=archive.Metadata(title=title, doc_type="convention", region_code=region,
                                                         year=end.year, effective_date=end - dt.timedelta(days=300),
                                                         end_date=end))
    session.commit()
    return doc


def meeting_with_minutes(app: Any, session: Any, slug: str, who: str, title: str) -> Any:
    meeting = schedule_meeting(session, committee(session, slug), actor=user(session, who), data=MeetingInput(
        starts_at=paris_datetime(TODAY - dt.timedelta(days=3), dt.time(14)), title=title, place="DRAC"))
    session.commit()
    draft_minutes(session, LocalStorage(app.config["STORAGE_DIR"]), meeting, actor=user(session, who))
    session.commit()
    submit_minutes(session, meeting, actor=user(session, who))
    session.commit()
    return meeting


def test_each_role_sees_what_waits_in_its_scope(app: Any, session: Any) -> None:
    agreement(app, session, "Convention IDF dépassée", "11", TODAY - dt.timedelta(days=10))
    agreement(app, session, "Convention IDF bientôt", "11", TODAY + dt.timedelta(days=12))
    agreement(app, session, "Convention PACA bientôt", "93", TODAY + dt.timedelta(days=5))
    meeting = meeting_with_minutes(app, session, "regional-11", "idf", "Comité francilien d'automne")
    add_action(session, meeting, actor=user(session, "idf"), title="Relancer la mairie de Bobigny",
                 owner="Idf", due_date=TODAY - dt.timedelta(days=2))
    add_action(session, meeting, actor=user(session, "idf"), title="Action de quelqu'un d'autre", owner="Paca")
    session.commit()

    idf = text(login_client(app, "idf").get("/"))
    assert "Mon tableau de bord" in idf
    assert "Convention IDF dépassée" in idf and "dépassée depuis 10 jours" in idf
    assert "Convention IDF bientôt" in idf and "dans 12 jours" in idf
    assert "Convention PACA" not in idf
    assert "Comité francilien d'automne" in idf and "à approuver" in idf
    assert "Relancer la mairie de Bobigny" in idf and "en retard de 2 jours" in idf
    assert "Action de quelqu'un d'autre" not in idf
    assert "Signatures en attente" in idf and "Aucune signature en attente." in idf
    assert "Archiver un document" in idf and 'role="search"' in login_client(app, "idf").get("/").get_data(True)

    paca = text(login_client(app, "paca").get("/"))
    assert "Convention PACA bientôt" in paca and "Convention IDF" not in paca
    assert "Comité francilien d'automne" not in paca and "Relancer la mairie" not in paca

    national = text(login_client(app, "national").get("/"))
    assert "Convention PACA bientôt" in national and "Convention IDF bientôt" in national
    assert "Comité francilien d'automne" in national and "à approuver" in national

    # A reader changes nothing: no « Archiver » button; a regional reader sees its region only.
    reader = text(login_client(app, "lecteur_idf").get("/"))
    assert "Archiver un document" not in reader and "Convention IDF bientôt" in reader
    assert "Convention PACA" not in reader and "Aucun compte rendu en attente." in reader

    admin = login_client(app, "admin").get("/")
    assert admin.status_code == 200 and "Convention PACA bientôt" in text(admin)


def test_figures_link_to_their_lists_and_cards_carry_empty_states(app: Any, session: Any) -> None:
    page = login_client(app, "idf").get("/").get_data(as_text=True)
    figures = page.split('class="dash-figures"')[1].split("</ul>")[0]
    assert 'href="/documents/echeances#overdue-title"' in figures and 'href="/comites/actions"' in figures
    assert "Aucune échéance dépassée sans suite." in page and "Aucune action ouverte à votre nom." in page
    assert page.count('class="card dash-card"') >= 6


def test_what_waits_returns_typed_sections_with_a_capped_total(app: Any, session: Any) -> None:
    for n in range(dashboard.SHOWN + 2):
        agreement(app, session, f"Convention {n}", "11", TODAY - dt.timedelta(days=n + 1))
    sections = {s.key: s for s in dashboard.what_waits(session, user(session, "idf"), TODAY)}
    assert list(sections) == ["overdue", "upcoming", "minutes", "actions", "signatures"]
    overdue = sections["overdue"]
    assert overdue.total == dashboard.SHOWN + 2 and len(overdue.items) == dashboard.SHOWN and overdue.alert
    assert overdue.total_label == str(dashboard.SHOWN + 2) and overdue.items[0].kind == "document"
    assert sections["signatures"].items == [] and sections["signatures"].empty == "Aucune signature en attente."


def _queries(app: Any, client: Any) -> int:
    statements: list[str] = []
    engine = app.extensions["db_engine"]

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", count)
    try:
        assert client.get("/").status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(statements)


def test_the_home_page_runs_few_queries_whatever_the_number_of_documents(app: Any, session: Any) -> None:
    agreement(app, session, "Convention 0", "11", TODAY + dt.timedelta(days=1))
    client = login_client(app, "idf")
    client.get("/")
    few = _queries(app, client)
    for n in range(1, 15):
        agreement(app, session, f"Convention {n}", "11", TODAY + dt.timedelta(days=n + 1))
    many = _queries(app, client)
    # Session check, five sections, recent documents, the committees panel: not one query per document.
    assert many == few and many <= 25


def test_documents_out_for_signature_wait_on_the_dashboard_of_their_scope(app: Any, session: Any) -> None:
    from documents import signatures

    idf_doc = agreement(app, session, "Convention IDF en signature", "11", TODAY + dt.timedelta(days=400))
    paca_doc = agreement(app, session, "Convention PACA en signature", "93", TODAY + dt.timedelta(days=400))
    for doc, who in ((idf_doc, "idf"), (paca_doc, "admin")):
        signatures.send_for_signature(session, doc, actor=user(session, who), recipient="DRAC",
                                      on=TODAY - dt.timedelta(days=20), today=TODAY)
    session.commit()
    section = {s.key: s for s in dashboard.what_waits(session, user(session, "idf"), TODAY)}["signatures"]
    assert [i.object_id for i in section.items] == [idf_doc.id] and section.total == 1
    item = section.items[0]
    assert item.kind == "signature" and "depuis 20 jours" in item.meta and "DRAC" in item.meta
    assert item.urgent and section.alert  # past the 15 days after which a convention's reminder goes
    page = login_client(app, "idf").get("/").get_data(as_text=True)
    assert f'href="/documents/{idf_doc.id}#signature"' in page and "Convention PACA en signature" not in page
    figures = page.split('class="dash-figures"')[1].split("</ul>")[0]
    assert 'href="/signatures/"' in figures
    national = {s.key: s for s in dashboard.what_waits(session, user(session, "national"), TODAY)}["signatures"]
    assert {i.object_id for i in national.items} == {idf_doc.id, paca_doc.id}
