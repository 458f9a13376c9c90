"""Regions through time: the 2016 map beside the 2009 one, scope by current region (its predecessors'
records, never another region's), guesses."""

from __future__ import annotations

import datetime as dt
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
from sqlalchemy import select

import samplefiles as sf
import searchkit
from documents import accounts, intake, listing, permissions, regions
from documents.archive import visible_documents
from documents.committees.attachments import attach_document
from documents.committees.committee import create_committee
from documents.committees.dates import paris_datetime
from documents.committees.feeds import my_meetings
from documents.committees.meetings import MeetingInput, schedule_meeting
from documents.committees.scope import visible_committees
from documents.errors import NotFound, ValidationError
from documents.models import Document, Region, User
from documents.search import IndexEntry, SearchQueryError, SearchScope, open_index, search, writing
from documents.storage import LocalStorage
from testkit import PASSWORD, committee, with_committees

# --------------------------------------------------------------------------- the map


def test_current_region_covers_its_predecessors_and_nothing_else() -> None:
    assert regions.covered_codes("76") == {"76", "91", "73"}
    assert regions.covered_codes("75") == {"75", "72", "74", "54"}
    assert regions.covered_codes("44") == {"44", "42", "21", "41"}
    assert regions.covered_codes("24") == {"24"}  # kept its code: one row
    assert regions.covered_codes("01") == {"01", "971"}
    assert regions.covered_codes("06") == {"06"}
    # A 2009 code covers only itself; an unknown code never widens.
    assert regions.covered_codes("91") == {"91"}
    assert regions.covered_codes("XX") == {"XX"}
    assert regions.covered_codes(None) == frozenset() and regions.covered_codes("") == frozenset()
    assert regions.current_code("73") == "76" and regions.current_code("11") == "11"
    assert regions.current_code("974") == "04" and regions.current_code(None) is None
    assert len(regions.current_codes()) == 18 and "06" in regions.current_codes()
    # Every 2009 code is covered by exactly one current region.
    owners: dict[str, list[str]] = {}
    for code in regions.current_codes():
        for covered in regions.covered_codes(code):
            owners.setdefault(covered, []).append(code)
    assert all(len(v) == 1 for v in owners.values()) and len(owners) == 18 + 20


def member(role: str, region: str | None) -> User:
    return User(email=f"{role}@test.fr", role=role, region_code=region, active=True)


def test_permissions_of_an_occitanie_user() -> None:
    occ = member("regional", "76")
    assert permissions.visible_regions(occ) == {"76", "91", "73", permissions.NATIONAL}
    assert permissions.can_read_region(occ, "73") and permissions.can_read_region(occ, "91")
    assert not permissions.can_read_region(occ, "72") and not permissions.can_read_region(occ, "75")
    assert permissions.can_write_region(occ, "91") and permissions.can_write_region(occ, "76")
    assert not permissions.can_write_region(occ, "72") and not permissions.can_write_region(occ, None)
    # A user still on a 2009 region (not migrated) sees that region only, not its successor's other parts.
    lr = member("regional", "91")
    assert permissions.visible_regions(lr) == {"91", permissions.NATIONAL}
    reader = member("lecteur", "76")
    assert permissions.visible_regions(reader) == {"76", "91", "73", permissions.NATIONAL}
    assert not permissions.can_write_region(reader, "91")


# --------------------------------------------------------------------------- guesses


@pytest.fixture
def keys(db_session: Any) -> intake.RegionKeys:
    return intake.RegionKeys.load(db_session)


def guess(keys: intake.RegionKeys, path: str, root: str = "", year: int | None = None) -> str | None:
    return intake.guess_region(intake.path_components(PurePosixPath(path), root_name=root), keys, year)


@pytest.mark.parametrize(("path", "year", "expected"), [
    ("Occitanie/convention.docx", None, "76"),
    ("Languedoc-Roussillon/2012/convention.docx", 2012, "91"),
    ("Languedoc-Roussillon-Midi-Pyrénées/2016/bilan.pdf", 2016, "76"),
    ("LRMP/bilan.pdf", None, "76"),
    ("Alsace-Champagne-Ardenne-Lorraine/bilan.pdf", None, "44"),
    ("Aquitaine-Limousin-Poitou-Charentes/bilan.pdf", None, "75"),
    ("Nord-Pas-de-Calais-Picardie/bilan.pdf", None, "32"),
    ("Bourgogne-Franche-Comté/bilan.docx", None, "27"),
    ("BFC/bilan.docx", None, "27"),
    ("HDF/bilan.docx", None, "32"),
    ("ARA/bilan.docx", None, "84"),
    ("PACA/bilan.docx", None, "93"),
    ("IDF/bilan.docx", None, "11"),
    ("Grand Est/bilan.docx", None, "44"),
    ("Centre-Val de Loire/bilan.docx", None, "24"),
    ("Centre/bilan.docx", None, "24"),
    ("Mayotte/bilan.docx", None, "06"),
    ("Guadeloupe/2012/bilan.docx", 2012, "971"),
    ("Guadeloupe/2019/bilan.docx", 2019, "01"),
    ("Hérault (34)/convention.docx", 2012, "91"),
    ("Hérault (34)/convention.docx", 2019, "76"),
    ("34 - Hérault/convention.docx", 2019, "76"),
    ("dept 59/convention.docx", 2013, "31"),
    ("Seine-Saint-Denis (93)/bilan.docx", 2012, "11"),  # the département 93, not the region 93
    ("93/bilan.docx", 2012, "93"),  # a bare number is a region code
    ("2012/bilan.docx", 2012, None),
    ("Centre social/bilan.docx", None, None),
])
def test_guesses_know_both_maps(keys: intake.RegionKeys, path: str, year: int | None, expected: str | None) -> None:
    assert guess(keys, path, year=year) == expected


# --------------------------------------------------------------------------- scope in the database


def occitanie_user(session: Any, role: str = "regional") -> User:
    return accounts.create_user(session, email=f"{role}.occitanie@test.fr", role=role, region_code="76",
                                password=PASSWORD, name="Agent DRAC Occitanie")


@pytest.fixture
def archive(app: Any, db_session: Any) -> dict[str, Document]:
    docs = {
        "lr": ("Convention Languedoc-Roussillon 2012", "91", 2012),
        "mp": ("Convention Midi-Pyrénées 2012", "73", 2012),
        "occ": ("Convention Occitanie 2019", "76", 2019),
        "aq": ("Convention Aquitaine 2012", "72", 2012),
        "na": ("Convention Nouvelle-Aquitaine 2019", "75", 2019),
        "nat": ("Protocole national", None, 2009),
    }
    out = {key: searchkit.archive_doc(app, db_session, title, [f"{title} : texte de la convention."],
                                      region=region, year=year, doc_type="convention")
           for key, (title, region, year) in docs.items()}
    db_session.commit()
    return out


def titles(session: Any, stmt: Any) -> set[str]:
    return {d.title for d in session.scalars(stmt)}


def test_occitanie_user_lists_predecessors_never_aquitaine(db_session: Any, archive: dict[str, Document]) -> None:
    occ = occitanie_user(db_session)
    seen = titles(db_session, visible_documents(occ))
    assert seen == {archive[k].title for k in ("lr", "mp", "occ", "nat")}
    # The filter by today's code finds the predecessors; a 2009 code keeps working.
    by_76 = titles(db_session, listing.filter_documents(occ, listing.DocumentFilters(region="76")))
    assert by_76 == {archive[k].title for k in ("lr", "mp", "occ")}
    by_91 = titles(db_session, listing.filter_documents(occ, listing.DocumentFilters(region="91")))
    assert by_91 == {archive["lr"].title}
    # Asking for another region's code gives nothing, not the other region's documents.
    assert titles(db_session, listing.filter_documents(occ, listing.DocumentFilters(region="75"))) == set()
    assert titles(db_session, listing.filter_documents(occ, listing.DocumentFilters(region="72"))) == set()
    admin_by_75 = titles(db_session, listing.filter_documents(None, listing.DocumentFilters(region="75")))
    assert admin_by_75 == set()  # no user: nothing at all (fail closed)
    # The completeness matrix: one row per current region, predecessors counted in it.
    matrix = listing.completeness(db_session, occ, doc_type="convention", first_year=2012, last_year=2019)
    assert [code for code, _ in matrix.rows] == ["76"]
    assert (matrix.count("76", 2012), matrix.count("76", 2019)) == (2, 1)
    # The document keeps the region of its time and shows today's beside it.
    lr_region = db_session.get(Region, "91")
    assert lr_region.label == "Languedoc-Roussillon (auj. Occitanie)"
    assert db_session.get(Region, "76").label == "Occitanie"
    assert db_session.get(Region, "971").label == "Guadeloupe (code 971 jusqu'en 2015)"


OCC_SCOPE_TEXTS = {
    "document:1": "Convention Languedoc-Roussillon, cinéma à Montpellier, coordination régionale.",
    "document:2": "Convention Midi-Pyrénées, ateliers à Toulouse, coordination régionale.",
    "document:3": "Convention Occitanie, projections à Nîmes, coordination régionale.",
    "document:4": "Convention Aquitaine, ateliers à Bordeaux, coordination régionale.",
    "document:5": "Convention Nouvelle-Aquitaine, projections à Limoges, coordination régionale.",
}
OCC_REGIONS = {"document:1": "91", "document:2": "73", "document:3": "76", "document:4": "72", "document:5": "75"}


@pytest.fixture
def occ_index(tmp_path: Path) -> Any:
    ix = open_index(tmp_path / "ix")
    with writing(ix) as w:
        for doc_id, text in OCC_SCOPE_TEXTS.items():
            w.upsert(IndexEntry(id=doc_id, kind="document", title=text.split(",")[0], text=text, type="convention",
                                region=OCC_REGIONS[doc_id], year=2012 if OCC_REGIONS[doc_id] != "76" else 2019,
                                status="signé", date=datetime(2012, 1, 1)))
    yield ix
    ix.close()


@pytest.mark.parametrize("query", [
    "", "coordination", "region:72 OR coord*", "region:75 OR conv*", "NOT region:76", "region:72",
    "bordeaux OR limoges OR coordination", "aquitaine", "type:convention OR region:75",
])
def test_search_by_occitanie_never_shows_aquitaine(occ_index: Any, query: str) -> None:
    scope = SearchScope.from_visible(permissions.visible_regions(member("regional", "76")))
    r = search(occ_index, query, scope=scope, text_for=lambda ids: {i: OCC_SCOPE_TEXTS[i] for i in ids})
    assert {h.region for h in r.hits} <= {"76", "91", "73"}
    assert r.total == len(r.hits)
    for values in r.facets.values():
        assert sum(v.count for v in values) <= r.total
    assert {v.value for v in r.facets.get("region", ())} <= {"76", "91", "73"}
    assert not any("Bordeaux" in h.snippet_html or "Limoges" in h.snippet_html for h in r.hits)


def test_search_region_filter_by_current_code_finds_predecessors(occ_index: Any) -> None:
    everyone = SearchScope.all()
    assert {h.id for h in search(occ_index, "region:76", scope=everyone).hits} == {
        "document:1", "document:2", "document:3"}
    assert {h.id for h in search(occ_index, "region:91", scope=everyone).hits} == {"document:1"}
    assert {h.id for h in search(occ_index, "coordination", scope=everyone, filters={"region": "75"}).hits} == {
        "document:4", "document:5"}
    occ = SearchScope.from_visible(permissions.visible_regions(member("regional", "76")))
    result = search(occ_index, "", scope=occ)
    assert {v.value: v.count for v in result.facets["region"]} == {"91": 1, "73": 1, "76": 1}
    # Suggestions come only from readable documents: « bordeaux » is Aquitaine's.
    assert search(occ_index, "bordaux", scope=everyone).suggestion == "bordeaux"
    assert search(occ_index, "bordaux", scope=occ).suggestion is None
    assert search(occ_index, "toulose", scope=occ).suggestion == "toulouse"
    # « region:75 OR a* »: refused with a clear message (prefix too short), never a wider scope.
    with pytest.raises(SearchQueryError) as info:
        search(occ_index, "region:75 OR a*", scope=occ)
    assert info.value.status < 500 and "troncature" in info.value.message


def test_users_of_the_database_keep_to_their_scope(db_session: Any, archive: dict[str, Document]) -> None:
    reader = occitanie_user(db_session, "lecteur")
    assert titles(db_session, visible_documents(reader)) == {archive[k].title for k in ("lr", "mp", "occ", "nat")}
    regional_na = accounts.create_user(db_session, email="na@test.fr", role="regional", region_code="75",
                                       password=PASSWORD, name="DRAC NA")
    assert titles(db_session, visible_documents(regional_na)) == {archive[k].title for k in ("aq", "na", "nat")}
    assert db_session.scalar(select(Region).where(Region.code == "06")).valid_from is not None


def test_committees_of_an_occitanie_user(db_session: Any, archive: dict[str, Document]) -> None:
    with_committees(db_session)
    occ = occitanie_user(db_session)
    # The 2009 regions have no committee of their own in a fresh database: one per current region.
    visible = {c.slug for c in db_session.scalars(visible_committees(occ))}
    assert visible == {"national", "regional-76"}
    with pytest.raises(ValidationError) as info:
        create_committee(db_session, actor=occ, name="Comité local", region_code="91")
    assert "n'existe plus depuis 2016" in info.value.errors["region_code"]
    local = create_committee(db_session, actor=occ, name="Comité local de Montpellier", region_code="76")
    assert local.region_code == "76"
    # A meeting of today's committee takes the predecessors' documents, never another region's.
    day = dt.date(2026, 3, 12)
    meeting = schedule_meeting(db_session, committee(db_session, "regional-76"), actor=occ, notifier=None,
                               data=MeetingInput(starts_at=paris_datetime(day, dt.time(14)),
                                                 ends_at=paris_datetime(day, dt.time(16)),
                                                 title="Comité Occitanie", place="DRAC, Montpellier", agenda=[]))
    attached = attach_document(db_session, meeting, actor=occ, document_id=archive["lr"].id)
    assert attached.document_id == archive["lr"].id
    assert {m.title for m in my_meetings(db_session, occ, since=paris_datetime(dt.date(2026, 1, 1), dt.time()))} \
        == {"Comité Occitanie"}
    with pytest.raises(NotFound):
        attach_document(db_session, meeting, actor=occ, document_id=archive["aq"].id)


def test_import_of_a_share_files_each_folder_in_its_region(app: Any, db_session: Any, tmp_path: Path) -> None:
    root = tmp_path / "partage"
    files = {
        "Occitanie/2019/Convention DRAC.docx": "Convention de la DRAC Occitanie.",
        "Languedoc-Roussillon/2012/Convention DRAC.docx": "Convention de la DRAC Languedoc-Roussillon.",
        "LRMP/2016/Bilan.docx": "Bilan de l'année de la fusion.",
        "Hérault (34)/2013/Bilan.docx": "Bilan des ateliers de Montpellier.",
        "Mayotte/2018/Bilan.docx": "Bilan des ateliers de Mamoudzou.",
    }
    for rel, text in files.items():
        sf.write_sample(root / rel, sf.make_docx([text]))
    report = intake.import_folder(db_session, LocalStorage(tmp_path / "files"), root,
                                  actor=accounts.create_user(db_session, email="imp@test.fr", role="admin",
                                                             password=PASSWORD, name="Import"))
    found = {o.path: (o.region_code, o.year) for o in report.outcomes}
    assert found == {
        "Occitanie/2019/Convention DRAC.docx": ("76", 2019),
        "Languedoc-Roussillon/2012/Convention DRAC.docx": ("91", 2012),
        "LRMP/2016/Bilan.docx": ("76", 2016),
        "Hérault (34)/2013/Bilan.docx": ("91", 2013),
        "Mayotte/2018/Bilan.docx": ("06", 2018),
    }


def test_echeances_of_an_occitanie_user(app: Any, db_session: Any) -> None:
    today = dt.date(2026, 6, 1)
    for title, region in (("Convention Midi-Pyrénées reconduite", "73"), ("Convention Aquitaine reconduite", "72"),
                          ("Convention Occitanie", "76")):
        searchkit.archive_doc(app, db_session, title, [title], region=region, year=2016, doc_type="convention",
                              status="signe", end_date=dt.date(2026, 6, 30))
    db_session.commit()
    occ = occitanie_user(db_session)
    titles_due = {u.document.title for u in listing.upcoming_deadlines(db_session, occ, today=today, days=60)}
    assert titles_due == {"Convention Midi-Pyrénées reconduite", "Convention Occitanie"}
