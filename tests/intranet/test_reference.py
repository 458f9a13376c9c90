"""Référentiel pages: regions, quartiers, organisations."""

from __future__ import annotations

import html
import re
from typing import Any

from sqlalchemy import select

from documents.models import AuditEvent, Organisation
from testkit import AuthActions, csrf_token, login_client, sqlite_only


def text_of(response: Any) -> str:
    """The response body with HTML entities decoded."""
    return html.unescape(response.get_data(as_text=True))


def table_body(response: Any) -> str:
    """The rows of the page's table (not the filter form), entities decoded."""
    match = re.search(r"<tbody>(.*?)</tbody>", response.get_data(as_text=True), flags=re.S)
    assert match, "no table on the page"
    return html.unescape(match.group(1))


def quartier_codes(response: Any) -> list[str]:
    """Quartier codes linked from a list page, in order."""
    return re.findall(r'href="/referentiel/quartiers/(\w+)"', response.get_data(as_text=True))


def count_shown(response: Any) -> int:
    """The total announced by the pager ("N résultats")."""
    match = re.search(r"\((\d+) résultats\)|(\d+) résultats?</p>", text_of(response))
    assert match, "no result count on the page"
    return int(match.group(1) or match.group(2))


def test_regions_page_lists_current_then_2009_regions(client: Any, auth: AuthActions) -> None:
    auth.login("lecteur")
    page = client.get("/referentiel/regions")
    assert page.status_code == 200
    body = text_of(page)
    current, former = body.split("<caption>")[1:3]
    rows = re.findall(r"<tr>\s*<td>(\d+)</td><td>([^<]+)</td>", current)
    assert len(rows) == 18
    assert ("11", "Île-de-France") in rows and ("04", "La Réunion") in rows and ("94", "Corse") in rows
    assert ("76", "Occitanie") in rows and ("06", "Mayotte") in rows
    assert "Languedoc-Roussillon (91), Midi-Pyrénées (73)" in current and "Centre (même code)" in current
    old = re.findall(r"<tr>\s*<td>(\d+)</td><td>([^<]+)</td>", former)
    assert len(old) == 20 and ("91", "Languedoc-Roussillon") in old and ("974", "La Réunion") in old
    assert "DRAC Languedoc-Roussillon" in former and "Occitanie (76)" in former
    assert "DRAC Île-de-France" in current and "DAC Mayotte" in current
    assert "/referentiel/quartiers?region=93" in body


@sqlite_only
def test_quartiers_list_and_pagination(client: Any, auth: AuthActions) -> None:
    auth.login("idf")
    first = client.get("/referentiel/quartiers")
    assert count_shown(first) == 215
    assert len(quartier_codes(first)) == 50
    last = client.get("/referentiel/quartiers?page=5")
    assert len(quartier_codes(last)) == 15
    assert not set(quartier_codes(first)) & set(quartier_codes(last))
    everything = client.get("/referentiel/quartiers?per_page=200&page=2")
    assert len(quartier_codes(everything)) == 15


def test_quartiers_filter_by_departement(client: Any, auth: AuthActions) -> None:
    auth.login("idf")
    page = client.get("/referentiel/quartiers", query_string={"departement": "Seine St Denis (93)"})
    assert count_shown(page) == 20
    assert "Quartier Nord" in text_of(page) and "Bondy" in text_of(page)
    assert '<option value="Seine St Denis (93)" selected>' in page.get_data(as_text=True)
    # The official spelling and the number find the same quartiers as the annex's label.
    for spelling in ("Seine-Saint-Denis", "seine saint-denis", "93"):
        other = client.get("/referentiel/quartiers", query_string={"departement": spelling})
        assert sorted(quartier_codes(other)) == sorted(quartier_codes(page)), spelling
        # The select shows the annex label the spelling matched, not "Tous".
        assert '<option value="Seine St Denis (93)" selected>' in other.get_data(as_text=True), spelling
    hauts = client.get("/referentiel/quartiers", query_string={"departement": "Hauts-de-Seine"})
    assert count_shown(hauts) == 9  # 8 in the 92 plus one straddling the Essonne
    # Several labels matched: the select keeps the text typed.
    assert '<option value="Hauts-de-Seine" selected>' in hauts.get_data(as_text=True)


def test_quartiers_filter_by_region_commune_and_text(client: Any, auth: AuthActions) -> None:
    auth.login("idf")
    guadeloupe = client.get("/referentiel/quartiers?region=971")
    assert quartier_codes(guadeloupe) == ["0119901"]
    assert "RUPAP" in text_of(guadeloupe) and "Art.6" in text_of(guadeloupe)
    idf = client.get("/referentiel/quartiers?region=11&per_page=200")
    assert all(code.startswith("11") for code in quartier_codes(idf)) and count_shown(idf) > 20
    bondy = client.get("/referentiel/quartiers?commune=bondy")
    assert quartier_codes(bondy) == ["1127020"]
    text = client.get("/referentiel/quartiers", query_string={"q": "Pavé Neuf"})
    assert quartier_codes(text) == ["1100480"]
    combined = client.get("/referentiel/quartiers", query_string={"region": "93", "commune": "Bondy"})
    assert quartier_codes(combined) == []
    assert "0 résultat" in text_of(combined)
    wildcard = client.get("/referentiel/quartiers", query_string={"q": "%"})
    assert quartier_codes(wildcard) == [], "LIKE wildcards are escaped"


@sqlite_only
def test_quartier_page(client: Any, auth: AuthActions) -> None:
    auth.login("paca")
    page = client.get("/referentiel/quartiers/1127020")
    body = text_of(page)
    assert page.status_code == 200
    assert "<h1>Quartier Nord</h1>" in body
    for value in ("1127020", "Bondy", "Seine St Denis (93)", "Ile de France (11)", "ZUS"):
        assert value in body
    assert client.get("/referentiel/quartiers/0000000").status_code == 404


def test_organisations_filters(client: Any, auth: AuthActions) -> None:
    auth.login("lecteur")
    signataires = table_body(client.get("/referentiel/organisations?kind=signataire"))
    assert "Centre national du cinéma" in signataires and "DRAC" not in signataires
    assert "Modifier" not in signataires  # no edit link for non-admins
    coordination = table_body(client.get("/referentiel/organisations?kind=coordination_nationale"))
    assert "Kyrnéa International" in coordination
    dracs = client.get("/referentiel/organisations?kind=drac")
    assert count_shown(dracs) == 26 + 12  # the 2009 DRACs kept, and those of the new regions
    region = table_body(client.get("/referentiel/organisations?region=93"))
    assert "DRAC Provence-Alpes-Côte d'Azur" in region and "DRAC Corse" not in region
    by_name = table_body(client.get("/referentiel/organisations?q=kyrn"))
    assert "Kyrnéa International" in by_name and "Centre national du cinéma" not in by_name


def _org(db_session: Any, slug: str) -> Organisation:
    db_session.rollback()
    return db_session.scalar(select(Organisation).where(Organisation.slug == slug))


def test_admin_edits_an_organisation(client: Any, auth: AuthActions, db_session: Any) -> None:
    org = _org(db_session, "drac-ile-de-france")
    auth.login("admin")
    path = f"/referentiel/organisations/{org.id}/modifier"
    listing = client.get("/referentiel/organisations?region=11").get_data(as_text=True)
    assert f'href="{path}"' in listing
    response = client.post(path, data={
        "name": "DRAC Île-de-France", "short_name": "DRAC IDF", "kind": "drac",
        "address": "47, rue Le Peletier\n75009 Paris", "representative": "Jeanne Martin",
        "representative_title": "Directrice régionale", "email": "drac.idf@culture.gouv.fr",
        "csrf_token": csrf_token(client, path),
    })
    assert response.status_code == 302
    edited = _org(db_session, "drac-ile-de-france")
    assert (edited.short_name, edited.representative, edited.representative_title, edited.email) == (
        "DRAC IDF", "Jeanne Martin", "Directrice régionale", "drac.idf@culture.gouv.fr")
    assert edited.address == "47, rue Le Peletier\n75009 Paris"
    assert db_session.scalar(select(AuditEvent).where(AuditEvent.action == "organisation.update",
                                                      AuditEvent.object_id == str(org.id))) is not None
    assert "Jeanne Martin, Directrice régionale" in text_of(client.get("/referentiel/organisations?region=11"))


@sqlite_only
def test_organisation_form_errors(client: Any, auth: AuthActions, db_session: Any) -> None:
    org = _org(db_session, "cnc")
    auth.login("admin")
    path = f"/referentiel/organisations/{org.id}/modifier"
    response = client.post(path, data={"name": "", "kind": "drac", "email": "pas une adresse",
                                       "csrf_token": csrf_token(client, path)})
    assert response.status_code == 422
    body = text_of(response)
    assert "Le nom est obligatoire." in body and "Adresse e-mail invalide." in body
    assert _org(db_session, "cnc").name == org.name


@sqlite_only
def test_non_admins_cannot_edit_organisations(app: Any, db_session: Any) -> None:
    org = _org(db_session, "cnc")
    for who in ("national", "idf", "lecteur"):
        client = login_client(app, who)
        path = f"/referentiel/organisations/{org.id}/modifier"
        assert client.get(path).status_code == 403, who
        response = client.post(path, data={"name": "Pirate", "kind": "partenaire",
                                           "csrf_token": csrf_token(client, "/")})
        assert response.status_code == 403, who
    assert _org(db_session, "cnc").name == org.name
    assert client.get("/referentiel/organisations/999999/modifier").status_code == 403
