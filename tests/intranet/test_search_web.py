"""The search pages: query, facets, sort, pagination, snippets, suggestions, errors and regional scope."""

from __future__ import annotations

import html
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

import samplefiles as sf
from documents.models import AuditEvent
from searchkit import archive_doc, close_index, drain
from testkit import AuthActions

#: Queries trying to reach another region, with the answer each must get: a prefix of one
#: letter is refused (400, French message); every other one runs within the user's scope.
HOSTILE = [("region:93 OR a*", 400), ("region:XX OR coord*", 200), ("NOT region:11", 200), ("region:93", 200),
           ("coord* OR region:93", 200), ("type:convention OR region:93", 200), ("(region:93)", 200),
           ("-region:11 convention", 200)]


@pytest.fixture(autouse=True)
def _closed_index(app: Any):
    yield
    close_index(app)


def text(response: Any) -> str:
    return response.get_data(as_text=True)


def unmarked(response: Any) -> str:
    """The page without the highlight marks, entities decoded."""
    return html.unescape(re.sub(r"</?mark>", "", text(response)))


@pytest.fixture
def two_regions(app: Any, db_session: Any) -> dict[str, Any]:
    docs = {
        "idf": archive_doc(app, db_session, "Convention coordination régionale Île-de-France",
                           ["La coordination régionale organise des ateliers à l'hôpital.",
                            "Projection cinématographique en plein air."],
                           region="11", doc_type="convention", year=2010, status="signe"),
        "idf_bilan": archive_doc(app, db_session, "Bilan 2011 Île-de-France",
                                 ["Bilan des coordinations régionales et des ateliers."],
                                 region="11", doc_type="bilan", year=2011, status="archive"),
        "paca": archive_doc(app, db_session, "Convention secrète PACA",
                            ["Coordination régionale marseillaise : ateliers au Panier.",
                             "Projection audiovisuelle dans les quartiers."],
                            region="93", doc_type="convention", year=2010, status="signe"),
        "national": archive_doc(app, db_session, "Protocole national 2009",
                                ["Le protocole est signé par les cinq signataires."],
                                region=None, doc_type="protocole", year=2009, status="signe"),
    }
    drain(app)
    return docs


def test_search_page_is_labelled_and_works_without_javascript(client: Any, auth: AuthActions) -> None:
    auth.login("idf")
    page = text(client.get("/recherche/"))
    assert '<form method="get" action="/recherche/" role="search"' in page
    match = re.search(r'<label for="q">Rechercher</label>', page)
    assert match, "the query box is labelled"
    assert 'id="q"' in page and 'name="q"' in page
    assert "<title>Recherche – Passeurs d'images</title>" in page
    assert "<script>" not in page and " style=" not in page and " onclick=" not in page
    assert 'aria-current="page">Recherche</a>' in page


def test_login_required(client: Any) -> None:
    response = client.get("/recherche/?q=convention")
    assert response.status_code in (302, 401)


def test_upload_through_the_web_is_searchable_at_once(client: Any, auth: AuthActions, app: Any) -> None:
    auth.login("idf")
    data = {"doc_type": "convention", "region": "11", "status": "brouillon", "csrf_token": auth.token("/"),
            "title": "Convention avec l'hôpital Necker",
            "files": [(__import__("io").BytesIO(sf.make_docx(["Séances de cinéma à l'hôpital Necker."])),
                       "necker.docx")]}
    response = client.post("/documents/nouveau", data=data, content_type="multipart/form-data")
    assert response.status_code in (200, 302)
    page = text(client.get("/recherche/?q=hopital"))
    assert "1 résultat pour « hopital »" in page
    assert "<mark>hôpital</mark>" in page
    assert re.search(r'<a href="/documents/\d+">', page), "a hit links to its document"


def test_french_queries_highlights_and_meta(client: Any, auth: AuthActions, two_regions: dict[str, Any]) -> None:
    auth.login("national")
    page = text(client.get("/recherche/?q=coordinations+regionales"))
    unmarked = re.sub(r"</?mark>", "", page)
    assert "Convention coordination régionale Île-de-France" in unmarked and "Bilan 2011" in unmarked
    assert "<mark>coordination</mark> <mark>régionale</mark>" in page
    assert "Convention · " in page or "Convention</span>" in page
    idf = two_regions["idf"]
    assert f'href="/documents/{idf.id}"' in page
    phrase = text(client.get('/recherche/?q="projection cinématographique"'))
    assert "Île-de-France" in phrase and "Convention secrète PACA" not in phrase
    accents = text(client.get("/recherche/?q=HOPITAL"))
    assert "<mark>hôpital</mark>" in accents


def test_facets_with_counts_combine_with_the_query(client: Any, auth: AuthActions,
                                                   two_regions: dict[str, Any]) -> None:
    auth.login("national")
    page = text(client.get("/recherche/?q=ateliers"))
    assert "3 résultats" in page
    assert re.search(r'name="type" value="convention"[^>]*>\s*<label[^>]*>Convention <span class="search-count">\(2\)',
                     page)
    assert re.search(r'value="bilan"[^>]*>\s*<label[^>]*>Bilan <span class="search-count">\(1\)', page)
    assert re.search(r'value="93"[^>]*>\s*<label[^>]*>Provence-Alpes-Côte d&#39;Azur <span class="search-count">\(1\)',
                     page)
    assert re.search(r'value="2010"[^>]*>\s*<label[^>]*>2010 <span class="search-count">\(2\)', page)
    assert re.search(r'value="signe"[^>]*>\s*<label[^>]*>Signé <span class="search-count">\(2\)', page)
    narrowed = text(client.get("/recherche/?q=ateliers&type=convention&region=11"))
    assert "1 résultat pour" in narrowed and "Île-de-France" in narrowed and "PACA" not in narrowed
    assert re.search(r'value="convention" checked', narrowed)
    both_years = text(client.get("/recherche/?q=ateliers&year=2010&year=2011"))
    assert "3 résultats" in both_years
    status = text(client.get("/recherche/?q=ateliers&status=archive"))
    assert "1 résultat pour" in status and "Bilan 2011" in status


def test_sort_by_date_and_pagination(client: Any, auth: AuthActions, app: Any, db_session: Any) -> None:
    for year in range(1990, 2013):
        archive_doc(app, db_session, f"Bilan de l'année {year}", [f"Bilan annuel {year} des ateliers."],
                    year=year, doc_type="bilan", signature_date=__import__("datetime").date(year, 6, 1))
    drain(app)
    auth.login("idf")
    first = unmarked(client.get("/recherche/?q=bilan&sort=date"))
    assert "23 résultats" in first and "Page 1 sur 2" in first
    titles = re.findall(r"Bilan de l'année (\d{4})", first)
    assert titles[:3] == ["2012", "2011", "2010"] and len(set(titles)) == 20
    assert 'rel="next"' in first
    link = re.search(r'href="([^"]+)" rel="next"', first).group(1).replace("&amp;", "&")
    assert "page=2" in link and "sort=date" in link and "q=bilan" in link
    second = unmarked(client.get(link))
    assert re.findall(r"Bilan de l'année (\d{4})", second) == ["1992", "1991", "1990"]
    assert '<ol class="search-hits" start="21">' in second


def test_escaped_titles_and_snippets(client: Any, auth: AuthActions, app: Any, db_session: Any) -> None:
    archive_doc(app, db_session, '<script>alert("titre")</script> Convention piégée',
                ['Texte <img src=x onerror=alert(1)> "onmouseover="alert(2)" convention piégée.'])
    drain(app)
    auth.login("idf")
    page = text(client.get("/recherche/?q=convention"))
    assert "<script>alert" not in page and "<img src=x" not in page
    assert "&lt;script&gt;" in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert '"onmouseover="' not in page


def test_no_result_with_a_scoped_suggestion(client: Any, auth: AuthActions, two_regions: dict[str, Any]) -> None:
    auth.login("idf")
    page = text(client.get("/recherche/?q=cinematografique"))
    assert "Aucun résultat" in page and "Essayez plutôt" in page
    assert "cinematographique</a>" in page
    # A word only a PACA document holds is never proposed to Île-de-France staff.
    hidden = text(client.get("/recherche/?q=marsellaise"))
    assert "Aucun résultat" in hidden and "Essayez plutôt" not in hidden and "marseillaise" not in hidden
    auth.logout()
    auth.login("paca")
    shown = text(client.get("/recherche/?q=marsellaise"))
    assert "Essayez plutôt" in shown and "marseillaise</a>" in shown


@pytest.mark.parametrize("query, fragment", [
    ("(" * 20 + "convention" + ")" * 20, "parenthèses"),
    ('"comité de pilotage', "guillemet"),
    ("*ion", "étoile"),
    ("x" * 700, "trop longue"),
    ("convention)", "parenthèse"),
])
def test_bad_queries_get_a_french_400_never_a_500(client: Any, auth: AuthActions, two_regions: dict[str, Any],
                                                   query: str, fragment: str) -> None:
    auth.login("idf")
    response = client.get("/recherche/", query_string={"q": query})
    assert response.status_code == 400
    page = text(response)
    assert 'class="error search-error" role="alert"' in page
    assert fragment in page
    assert 'name="q"' in page, "the form stays to correct the query"
    assert "Traceback" not in page


def test_a_range_is_searched_as_plain_words(client: Any, auth: AuthActions, two_regions: dict[str, Any]) -> None:
    """Ranges are not part of the query language: « annee:[1900 TO 2100] » is an ordinary search."""
    auth.login("idf")
    response = client.get("/recherche/", query_string={"q": "annee:[1900 TO 2100]"})
    assert response.status_code == 200
    assert "Traceback" not in text(response)


def test_page_beyond_the_result_window_is_a_clear_400(client: Any, auth: AuthActions,
                                                       two_regions: dict[str, Any]) -> None:
    auth.login("idf")
    response = client.get("/recherche/?q=ateliers&page=9999")
    assert response.status_code == 400 and "premiers résultats" in text(response)


@pytest.mark.parametrize("query, status", HOSTILE)
def test_regional_user_never_sees_another_region(client: Any, auth: AuthActions, two_regions: dict[str, Any],
                                                 query: str, status: int) -> None:
    auth.login("idf")
    response = client.get("/recherche/", query_string={"q": query})
    page = text(response)
    assert response.status_code == status
    for leak in ("Convention secrète PACA", "marseillaise", "Panier", "Provence", 'value="93"',
                 f'/documents/{two_regions["paca"].id}"'):
        assert leak not in page, f"{leak!r} leaked for {query!r}"
    counts = [int(n) for n in re.findall(r"(\d+) résultats? ", page)]
    assert all(n <= 3 for n in counts), "counts only include Île-de-France and national documents"


def test_regional_user_facets_only_show_allowed_regions(client: Any, auth: AuthActions,
                                                        two_regions: dict[str, Any]) -> None:
    auth.login("idf")
    page = text(client.get("/recherche/?q="))
    assert "3 résultats" in page
    regions = set(re.findall(r'name="region" value="([^"]+)"', page))
    assert regions == {"11", "national"}


def test_search_inside_versions(client: Any, auth: AuthActions, app: Any, db_session: Any) -> None:
    import testkit
    from documents import archive
    from documents.storage import LocalStorage

    doc = archive_doc(app, db_session, "Convention pluriannuelle", ["Première version : ateliers à l'hôpital."])
    path = sf.write_sample(Path(app.config["DATA_DIR"]) / "v2.docx", sf.make_docx(["Deuxième version : prison."]))
    archive.add_version(db_session, LocalStorage(app.config["STORAGE_DIR"]), doc,
                        actor=testkit.user(db_session, "admin"), path=path, filename="v2.docx")
    db_session.commit()
    paca_doc = archive_doc(app, db_session, "Convention PACA", ["Hôpital Nord."], region="93")
    auth.login("idf")
    page = text(client.get(f"/recherche/documents/{doc.id}?q=hopital"))
    assert "1 version contient « hopital »" in page and "Version 1" in page and "Version 2" not in page
    assert "<mark>hôpital</mark>" in page
    assert f'/documents/{doc.id}/versions/1/telecharger' in page
    other = text(client.get(f"/recherche/documents/{doc.id}?q=prison"))
    assert "Version 2" in other
    bad = client.get(f"/recherche/documents/{doc.id}?q=%22ouvert")
    assert bad.status_code == 400 and "guillemet" in text(bad)
    before = db_session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "access.denied"))
    denied = client.get(f"/recherche/documents/{paca_doc.id}?q=hopital")
    assert denied.status_code == 404 and "Nord" not in text(denied)
    db_session.expire_all()
    after = db_session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "access.denied"))
    assert after == before + 1


def test_a_deleted_index_folder_is_rebuilt_not_a_crash(client: Any, auth: AuthActions, app: Any,
                                                        two_regions: dict[str, Any]) -> None:
    auth.login("national")
    assert "Protocole national" in unmarked(client.get("/recherche/?q=protocole"))
    shutil.rmtree(app.config["INDEX_DIR"])
    response = client.get("/recherche/?q=protocole")
    assert response.status_code == 200
    assert "Protocole national" in unmarked(response)


def test_facet_labels_are_french_for_documents_and_meetings() -> None:
    from intranet.search.views import _label

    assert _label("type", "convention", {}) == "Convention"
    assert _label("type", "regional", {}) == "Comité de pilotage régional"
    assert _label("status", "signe", {}) == "Signé"
    assert _label("status", "approuve", {}) == "Approuvé"
    assert _label("status", "inconnu", {}) == "inconnu"
    assert _label("region", "11", {"11": "Île-de-France"}) == "Île-de-France"
