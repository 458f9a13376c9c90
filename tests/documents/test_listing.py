"""Filtered lists, échéances and the completeness matrix, scoped to the user in SQL."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import pytest
from sqlalchemy import select

from documents import audit, listing
from documents.listing import DocumentFilters
from documents.models import Document, DocumentVersion, DraftingTemplate, Organisation, Quartier
from testkit import user

_counter = iter(range(1, 10**6))


def add(session: Any, title: str, *, region: str | None = "11", doc_type: str = "convention",
        year: int | None = 2025, status: str = "brouillon", texts: tuple[str, ...] = ("ok",),
        updated: dt.datetime | None = None, trashed: bool = False, parties: tuple[str, ...] = (),
        quartiers: tuple[str, ...] = (), **fields: Any) -> Document:
    """A document row with one version per entry of ``texts`` (its text status), no file needed here."""
    doc = Document(title=title, doc_type=doc_type, region_code=region, year=year, status=status,
                   keywords="", notes="", **fields)
    if updated is not None:
        doc.updated_at = updated
    if trashed:
        doc.deleted_at = dt.datetime.now(dt.UTC)
    doc.parties = list(session.scalars(select(Organisation).where(Organisation.slug.in_(parties))))
    doc.quartiers = list(session.scalars(select(Quartier).where(Quartier.code.in_(quartiers))))
    for number, status_text in enumerate(texts, start=1):
        sha = hashlib.sha256(f"{next(_counter)}".encode()).hexdigest()
        doc.versions.append(DocumentVersion(number=number, sha256=sha, size=10, filename=f"{title}.pdf",
                                            kind="pdf", mime_type="application/pdf", text_status=status_text,
                                            text_reason="" if status_text == "ok" else "PDF chiffré"))
    session.add(doc)
    session.commit()
    return doc


def titles(session: Any, who: str, **filters: Any) -> list[str]:
    stmt = listing.filter_documents(user(session, who), DocumentFilters(**filters))
    return [d.title for d in session.scalars(stmt)]


@pytest.fixture
def corpus(db_session: Any) -> Any:
    base = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    some_quartier = db_session.scalar(select(Quartier.code).where(Quartier.region_code == "11").limit(1))
    add(db_session, "Convention IDF 2025", year=2025, status="signe", parties=("cnc",),
        quartiers=(some_quartier,), updated=base + dt.timedelta(days=3),
        signature_date=dt.date(2025, 3, 1))
    add(db_session, "Bilan IDF 2024", doc_type="bilan", year=2024, texts=("ok", "failed"),
        updated=base + dt.timedelta(days=1), signature_date=dt.date(2024, 6, 1))
    add(db_session, "avenant idf", doc_type="avenant", year=None, updated=base + dt.timedelta(days=2))
    add(db_session, "Protocole national", region=None, doc_type="protocole", year=2009, status="signe",
        parties=("cnc",), updated=base, signature_date=dt.date(2009, 10, 26))
    add(db_session, "Convention PACA 2025", region="93", year=2025, status="signe", parties=("cnc",),
        updated=base + dt.timedelta(days=5))
    add(db_session, "Convention IDF jetée", updated=base + dt.timedelta(days=9), trashed=True)
    return some_quartier


def test_scope_is_applied_before_any_filter(db_session: Any, corpus: Any) -> None:
    assert titles(db_session, "idf") == ["Convention IDF 2025", "avenant idf", "Bilan IDF 2024",
                                         "Protocole national"]
    assert titles(db_session, "paca") == ["Convention PACA 2025", "Protocole national"]
    assert titles(db_session, "admin")[0] == "Convention PACA 2025"
    assert len(titles(db_session, "admin")) == 5  # the trashed one is left out
    # Asking for another region narrows, never widens.
    assert titles(db_session, "idf", region="93") == []
    assert titles(db_session, "idf", party_id=None, region="93", doc_type="convention") == []


def test_each_filter(db_session: Any, corpus: str) -> None:
    cnc = db_session.scalar(select(Organisation.id).where(Organisation.slug == "cnc"))
    assert titles(db_session, "idf", doc_type="bilan") == ["Bilan IDF 2024"]
    assert titles(db_session, "idf", region="national") == ["Protocole national"]
    assert titles(db_session, "idf", region="11") == ["Convention IDF 2025", "avenant idf", "Bilan IDF 2024"]
    assert titles(db_session, "idf", year=2025) == ["Convention IDF 2025"]
    assert titles(db_session, "idf", status="signe") == ["Convention IDF 2025", "Protocole national"]
    assert titles(db_session, "idf", party_id=cnc) == ["Convention IDF 2025", "Protocole national"]
    assert titles(db_session, "idf", quartier=corpus) == ["Convention IDF 2025"]
    assert titles(db_session, "idf", q="idf 2025") == ["Convention IDF 2025"]
    assert titles(db_session, "idf", q="100%_") == []
    # "Sans texte" looks at the current version only: the bilan's second version failed.
    assert titles(db_session, "idf", no_text=True) == ["Bilan IDF 2024"]


def test_sorts(db_session: Any, corpus: Any) -> None:
    assert titles(db_session, "idf", sort="title") == ["avenant idf", "Bilan IDF 2024", "Convention IDF 2025",
                                                       "Protocole national"]
    assert titles(db_session, "idf", sort="year") == ["Convention IDF 2025", "Bilan IDF 2024",
                                                      "Protocole national", "avenant idf"]
    assert titles(db_session, "idf", sort="date") == ["Convention IDF 2025", "Bilan IDF 2024",
                                                      "Protocole national", "avenant idf"]
    assert [d.title for d in listing.recently_modified(db_session, user(db_session, "idf"), limit=2)] == \
        ["Convention IDF 2025", "avenant idf"]


def test_drafting_models_are_listed_only_on_request(db_session: Any, corpus: Any) -> None:
    # The newest change of all is a drafting model's source: it must not crowd « Récemment modifiés ».
    late = dt.datetime(2026, 2, 1, tzinfo=dt.UTC)
    model = add(db_session, "Modèle de convention", region=None, doc_type="modele", year=None, status="signe",
                updated=late + dt.timedelta(hours=1))
    db_session.add(DraftingTemplate(document_id=model.id, slug="convention-test", output_type="convention"))
    # A document merely typed « Modèle » (no drafting model made of it) stays archive content.
    add(db_session, "Ancien modèle papier", region=None, doc_type="modele", year=None, updated=late)
    db_session.commit()
    idf = user(db_session, "idf")
    assert [d.title for d in listing.recently_modified(db_session, idf, limit=2)] == \
        ["Ancien modèle papier", "Convention IDF 2025"]
    assert "Modèle de convention" in [d.title for d in listing.recently_modified(db_session, idf,
                                                                                 include_models=True)]
    assert "Modèle de convention" not in titles(db_session, "idf")
    # Choosing the type « Modèle » or ticking « Inclure les modèles » brings them back.
    assert titles(db_session, "idf", doc_type="modele") == ["Modèle de convention", "Ancien modèle papier"]
    assert titles(db_session, "idf", models=True)[:3] == ["Modèle de convention", "Ancien modèle papier",
                                                          "Convention IDF 2025"]
    assert DocumentFilters.from_args({"modeles": "1"}) == DocumentFilters(models=True)
    assert DocumentFilters(models=True).to_args() == {"modeles": "1"}


def test_filters_from_args_ignore_junk_and_round_trip() -> None:
    filters = DocumentFilters.from_args({"type": "bilan", "region": "national", "year": "2024", "status": "signe",
                                         "party": "7", "quartier": "1112001", "sans_texte": "1", "q": "  a  b ",
                                         "sort": "title"})
    assert filters == DocumentFilters(doc_type="bilan", region="national", year=2024, status="signe", party_id=7,
                                      quartier="1112001", no_text=True, q="a b", sort="title")
    assert DocumentFilters.from_args(filters.to_args()) == filters
    junk = DocumentFilters.from_args({"type": "<script>", "year": "20x5", "status": "x", "party": "un",
                                      "sort": "drop table", "sans_texte": "peut-être"})
    assert junk == DocumentFilters() and not junk.active and junk.to_args() == {}
    assert DocumentFilters.from_args({"year": "1500"}).year is None


# --------------------------------------------------------------------------- échéances


TODAY = dt.date(2026, 2, 10)


def deadlines_for(session: Any, who: str = "admin", days: int = 90) -> list[tuple[str, str, dt.date, int]]:
    rows = listing.upcoming_deadlines(session, user(session, who), today=TODAY, days=days)
    return [(r.document.title, r.deadline.kind, r.deadline.date, r.days_left) for r in rows]


def test_upcoming_deadlines(db_session: Any) -> None:
    add(db_session, "Explicite", end_date=dt.date(2026, 2, 28), tacit_renewal=True, notice_months=1)
    add(db_session, "Calculée", doc_type="contrat_objectifs", effective_date=dt.date(2025, 3, 1),
        duration_months=12)
    add(db_session, "Préavis seulement dans l'horizon", doc_type="avenant", end_date=dt.date(2026, 7, 31),
        notice_months=4)
    add(db_session, "Passée", end_date=dt.date(2026, 2, 8), tacit_renewal=True)
    add(db_session, "Hier", end_date=dt.date(2026, 2, 9), tacit_renewal=True)
    add(db_session, "Trop loin", end_date=dt.date(2026, 12, 31))
    add(db_session, "Bilan ignoré", doc_type="bilan", end_date=dt.date(2026, 2, 20))
    add(db_session, "Archivée", status="archive", end_date=dt.date(2026, 2, 20))
    add(db_session, "PACA", region="93", end_date=dt.date(2026, 2, 11))
    assert deadlines_for(db_session) == [
        ("Hier", "reconduction", dt.date(2026, 2, 10), 0),
        ("PACA", "echeance", dt.date(2026, 2, 11), 1),
        ("Calculée", "echeance", dt.date(2026, 2, 28), 18),
        ("Explicite", "echeance", dt.date(2026, 2, 28), 18),
        ("Explicite", "reconduction", dt.date(2026, 3, 1), 19),
        ("Préavis seulement dans l'horizon", "preavis", dt.date(2026, 3, 31), 49),
    ]
    assert ("PACA", "echeance", dt.date(2026, 2, 11), 1) not in deadlines_for(db_session, "idf")
    assert [t for t, *_ in deadlines_for(db_session, "idf", days=18)] == ["Hier", "Calculée", "Explicite"]


def test_deadlines_on_month_ends_and_29_february(db_session: Any) -> None:
    # Effective 29 Feb 2024 for 24 months: 29 Feb 2026 does not exist, so the term runs to 28 Feb
    # (clamped) minus one day; renewal the next day; a month of notice falls in January, already past.
    add(db_session, "Bissextile", effective_date=dt.date(2024, 2, 29), duration_months=24, notice_months=1,
        tacit_renewal=True)
    # Ends 31 May 2026; 3 months of notice lands on 28 Feb... of 2026 (clamped from 31).
    add(db_session, "Fin de mois", end_date=dt.date(2026, 5, 31), notice_months=3)
    rows = deadlines_for(db_session)
    assert ("Bissextile", "echeance", dt.date(2026, 2, 27), 17) in rows
    assert ("Bissextile", "reconduction", dt.date(2026, 2, 28), 18) in rows
    assert ("Fin de mois", "preavis", dt.date(2026, 2, 28), 18) in rows
    assert not any(kind == "preavis" and title == "Bissextile" for title, kind, *_ in rows)


def test_tacitly_renewed_agreements_show_their_running_term(db_session: Any) -> None:
    # Ended 31 May 2025, renewed yearly (no duration): the running term ends 31 May 2026, its
    # notice (3 months) is 28 February 2026, clamped from 31 February.
    add(db_session, "Reconduite", end_date=dt.date(2025, 5, 31), tacit_renewal=True, notice_months=3)
    # 2009 protocol, 36-month terms from 26 October 2009: the running term ends 25 October 2027.
    add(db_session, "Protocole", doc_type="protocole", effective_date=dt.date(2009, 10, 26), duration_months=36,
        tacit_renewal=True, notice_months=21)
    # Monthly terms from 1 January 2026: three terms end within 60 days of 10 February.
    add(db_session, "Mensuelle", effective_date=dt.date(2026, 1, 1), duration_months=1, tacit_renewal=True)
    # Same past end without tacit renewal: nothing left to show.
    add(db_session, "Terminée", end_date=dt.date(2025, 5, 31), notice_months=3)
    rows = deadlines_for(db_session, days=60)
    assert rows == [
        ("Mensuelle", "echeance", dt.date(2026, 2, 28), 18),
        ("Reconduite", "preavis", dt.date(2026, 2, 28), 18),
        ("Mensuelle", "reconduction", dt.date(2026, 3, 1), 19),
        ("Mensuelle", "echeance", dt.date(2026, 3, 31), 49),
        ("Mensuelle", "reconduction", dt.date(2026, 4, 1), 50),
    ]
    rows = deadlines_for(db_session, days=365)
    assert ("Reconduite", "echeance", dt.date(2026, 5, 31), 110) in rows
    assert ("Reconduite", "reconduction", dt.date(2026, 6, 1), 111) in rows
    assert not any(title in ("Terminée", "Protocole") for title, *_ in rows)
    # The protocol's notice deadline (21 months before its end: 25 January 2026) is past.
    assert [r for r in deadlines_for(db_session, days=700) if r[0] == "Protocole"] == [
        ("Protocole", "echeance", dt.date(2027, 10, 25), 622),
        ("Protocole", "reconduction", dt.date(2027, 10, 26), 623),
    ]


# --------------------------------------------------------------------------- completeness


def test_completeness_matrix(db_session: Any) -> None:
    add(db_session, "IDF 2024 signée", year=2024, status="signe")
    add(db_session, "IDF 2024 autre", year=2024, status="signe")
    add(db_session, "IDF 2025 brouillon", year=2025)
    add(db_session, "PACA 2025", region="93", year=2025, status="signe")
    add(db_session, "National 2025", region=None, year=2025, status="signe")
    add(db_session, "CR IDF 2025", doc_type="compte_rendu", year=2025)
    add(db_session, "Jetée", year=2023, trashed=True)
    matrix = listing.completeness(db_session, user(db_session, "admin"), doc_type="convention", first_year=2025,
                                  last_year=2023, status="signe", include_national=True)
    assert matrix.years == [2023, 2024, 2025]
    # National, then the 18 current regions (their predecessors count in them).
    assert matrix.rows[0] == ("national", "National") and len(matrix.rows) == 19
    assert (matrix.count("11", 2024), matrix.count("11", 2025), matrix.count("93", 2025)) == (2, 0, 1)
    assert matrix.count("national", 2025) == 1 and matrix.count("11", 2023) == 0
    missing = matrix.missing()
    assert ("11", 2025) in missing and ("11", 2024) not in missing and ("93", 2025) not in missing
    assert len(missing) == len(matrix.rows) * 3 - 3
    any_status = listing.completeness(db_session, user(db_session, "admin"), doc_type="convention",
                                      first_year=2023, last_year=2025)
    assert any_status.count("11", 2025) == 1 and any_status.rows[0][0] != "national"
    scoped = listing.completeness(db_session, user(db_session, "idf"), doc_type="convention", first_year=2023,
                                  last_year=2025, include_national=True)
    assert scoped.rows == [("national", "National"), ("11", "Île-de-France")]
    assert scoped.count("93", 2025) == 0 and ("93", 2025) not in scoped.missing()
    wide = listing.completeness(db_session, user(db_session, "admin"), doc_type="bilan", first_year=1900,
                                last_year=2200)
    assert len(wide.years) == listing.MAX_MATRIX_YEARS and wide.years[-1] == 2200


# --------------------------------------------------------------------------- history


def test_document_history(db_session: Any) -> None:
    doc = add(db_session, "Historique")
    idf = user(db_session, "idf")
    for action in ("document.upload", "document.view", "document.metadata", "document.download"):
        audit.record(db_session, action, actor=idf, object_type="document", object_id=doc.id)
    audit.record(db_session, "user.create", actor=idf, object_type="user", object_id=doc.id)
    db_session.commit()
    changes = [e.action for e in listing.document_history(db_session, doc)]
    assert changes == ["document.metadata", "document.upload"]
    everything = [e.action for e in listing.document_history(db_session, doc, include_access=True)]
    assert everything == ["document.download", "document.metadata", "document.view", "document.upload"]
