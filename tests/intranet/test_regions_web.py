"""Regions on the web and the command line: organisations CSV (CLI and admin page), quartiers, accounts, lists."""

from __future__ import annotations

import html
import io
import re
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

import searchkit
from documents import accounts, drafting
from documents.errors import ValidationError
from documents.models import AuditEvent, DraftingTemplate, Organisation
from intranet.extensions import storage
from testkit import AMOUNTS, PASSWORD, AuthActions, csrf_token, login_client


def body(response: Any) -> str:
    return html.unescape(response.get_data(as_text=True))


def test_cli_export_dry_run_and_import(runner: Any, db_session: Any, tmp_path: Path) -> None:
    out = tmp_path / "organisations.csv"
    result = runner.invoke(args=["organisations", "export", "--out", str(out)])
    assert result.exit_code == 0 and "exportées" in result.output
    text = out.read_bytes().decode("utf-8")
    assert text.startswith("cle;nom;sigle;type;region;adresse;representant;qualite;email;telephone\r\n")
    text = text.replace("drac-occitanie;DRAC Occitanie;DRAC Occitanie;drac;76;;;Préfet de région;;",
                        "drac-occitanie;DRAC Occitanie;DRAC Occitanie;drac;76;5 rue de la Salle-l'Évêque, "
                        "34000 Montpellier;Monsieur Martin;Préfet de région;;04 67 02 32 00")
    out.write_bytes(text.encode("utf-8"))
    dry = runner.invoke(args=["organisations", "import", str(out), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "modification de « DRAC Occitanie »" in dry.output
    assert "représentant : (vide) → « Monsieur Martin »" in dry.output
    assert "0 création(s), 1 modification(s) prévue(s)" in dry.output
    db_session.expire_all()
    drac = db_session.scalars(select(Organisation).where(Organisation.slug == "drac-occitanie")).one()
    assert drac.representative == ""
    done = runner.invoke(args=["organisations", "import", str(out)])
    assert done.exit_code == 0 and "0 création(s), 1 modification(s) enregistrée(s)" in done.output
    db_session.expire_all()
    drac = db_session.scalars(select(Organisation).where(Organisation.slug == "drac-occitanie")).one()
    assert (drac.representative, drac.phone) == ("Monsieur Martin", "04 67 02 32 00")
    again = runner.invoke(args=["organisations", "import", str(out)])
    assert "0 création(s), 0 modification(s)" in again.output
    bad = tmp_path / "faux.csv"
    bad.write_text("nom;type;region\nDRAC Atlantide;drac;99\n", encoding="utf-8")
    failed = runner.invoke(args=["organisations", "import", str(bad)])
    assert failed.exit_code == 1 and "ligne 2 : région « 99 » inconnue" in failed.output


def test_admin_page_exports_and_imports_with_a_dry_run(app: Any, client: Any, auth: AuthActions,
                                                       db_session: Any) -> None:
    auth.login("lecteur")
    assert client.get("/referentiel/organisations/import").status_code == 403
    assert client.get("/referentiel/organisations.csv").status_code == 403
    admin = login_client(app, "admin")
    exported = admin.get("/referentiel/organisations.csv")
    assert exported.status_code == 200 and exported.mimetype == "text/csv"
    data = exported.get_data(as_text=True).replace(
        "coordination-occitanie;Coordination régionale Passeurs d'images – Occitanie;;coordination_regionale;"
        "76;;;;;",
        "coordination-occitanie;Coordination régionale Passeurs d'images – Occitanie;;coordination_regionale;76;"
        "1 rue A, 31000 Toulouse;Madame B;Présidente;;")

    def post(payload: str, dry_run: bool) -> Any:
        form = {"csrf_token": csrf_token(admin, "/referentiel/organisations/import"),
                "file": (io.BytesIO(payload.encode("utf-8")), "organisations.csv")}
        if dry_run:
            form["dry_run"] = "y"
        return admin.post("/referentiel/organisations/import", data=form, content_type="multipart/form-data")

    assert "Occitanie;;coordination_regionale;76;1 rue A, 31000 Toulouse;Madame B" in data
    dry = post(data, True)
    assert dry.status_code == 200 and "Simulation : 0 création(s), 1 modification(s) prévue(s)" in body(dry)
    assert "représentant : (vide) → « Madame B »" in body(dry)
    assert db_session.scalar(select(func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action == "organisation.import")) == 0
    done = post(data, False)
    assert done.status_code == 200 and "1 modification(s) enregistrée(s)" in body(done)
    db_session.expire_all()
    coordination = db_session.scalars(select(Organisation).where(Organisation.slug == "coordination-occitanie")).one()
    assert coordination.representative == "Madame B"
    faulty = post("nom;type\n;drac\n", False)
    assert faulty.status_code == 422 and "ligne 2 : le nom est obligatoire." in body(faulty)
    unreadable = post("", False)
    assert unreadable.status_code == 422 and "vide" in body(unreadable)


def test_quartiers_keep_their_2009_code_and_show_todays_region(client: Any, auth: AuthActions) -> None:
    auth.login("idf")
    def codes(region: str) -> list[str]:
        page = client.get(f"/referentiel/quartiers?region={region}&per_page=200")
        return re.findall(r'href="/referentiel/quartiers/(\w+)"', page.get_data(as_text=True))

    by_old, by_new, by_mp = codes("91"), codes("76"), codes("73")
    assert by_old and by_mp and sorted(by_new) == sorted(by_old + by_mp)
    page = body(client.get(f"/referentiel/quartiers/{by_old[0]}"))
    assert "(91), aujourd'hui Occitanie" in page
    listing = body(client.get("/referentiel/quartiers?region=91"))
    assert "(auj. Occitanie)" in listing
    assert "(auj. Centre-Val de Loire)" in body(client.get("/referentiel/quartiers?region=24"))
    overseas = body(client.get("/referentiel/quartiers?region=01"))
    assert "Pointe-à-Pitre" in overseas and "(auj." not in overseas
    assert "auj." not in body(client.get("/referentiel/quartiers?region=11"))


def test_accounts_belong_to_current_regions(db_session: Any) -> None:
    with pytest.raises(ValidationError) as info:
        accounts.create_user(db_session, email="lr@test.fr", role="regional", region_code="91",
                             password=PASSWORD, name="LR")
        db_session.commit()
    assert info.value.message == ("La région Languedoc-Roussillon n'existe plus depuis 2016 : "
                                  "choisissez Occitanie (76).")


def test_library_of_an_occitanie_user(app: Any, db_session: Any) -> None:
    accounts.create_user(db_session, email="occ@test.fr", role="regional", region_code="76", password=PASSWORD,
                         name="DRAC Occitanie")
    db_session.commit()
    for title, region, year in (("Convention Languedoc-Roussillon 2012", "91", 2012),
                                ("Convention Occitanie 2019", "76", 2019),
                                ("Convention Aquitaine 2012", "72", 2012)):
        searchkit.archive_doc(app, db_session, title, [title], region=region, year=year, doc_type="convention")
    db_session.commit()
    searchkit.drain(app)
    occ = login_client(app, "occ@test.fr")
    page = body(occ.get("/documents/"))
    assert "Convention Languedoc-Roussillon 2012" in page and "Convention Occitanie 2019" in page
    assert "Aquitaine" not in page.split("<tbody>")[1]
    assert "Languedoc-Roussillon (auj. Occitanie)" in page
    filtered = body(occ.get("/documents/?region=76"))
    assert "Convention Languedoc-Roussillon 2012" in filtered and "Convention Occitanie 2019" in filtered
    assert "Aquitaine" not in body(occ.get("/documents/?region=72")).split("<tbody>")[-1]
    # The API: the same scope, the same filter by today's code or by name.
    for region in ("76", "occitanie"):
        api = occ.get(f"/api/v1/documents?region={region}").get_json()
        assert sorted(d["title"] for d in api["items"]) == [
            "Convention Languedoc-Roussillon 2012", "Convention Occitanie 2019"], region
    assert occ.get("/api/v1/documents?region=72").get_json()["items"] == []
    assert occ.get("/api/v1/me").get_json()["visible_regions"] == ["73", "76", "91", "national"]
    found = re.sub(r"</?mark>", "", body(occ.get("/recherche/?q=region:72+OR+conv*")))
    assert "Convention Aquitaine" not in found and "Convention Languedoc-Roussillon" in found
    assert "2 résultats" in found and 'name="region" value="72"' not in found
    searchkit.close_index(app)


def test_batch_grid_takes_party_values_and_offers_no_empty_zip(app: Any, db_session: Any) -> None:
    with app.app_context():
        drafting.load_builtin_models(db_session, storage())
    db_session.commit()
    template_id = db_session.scalars(select(DraftingTemplate.document_id)
                                     .where(DraftingTemplate.slug == "convention-drac-coordination")).one()
    client = login_client(app, "national")
    url = f"/modeles/{template_id}/lot"
    page = body(client.get(url + "?year=2026"))
    assert 'name="p-76-drac.adresse"' in page and 'name="p-21-drac.adresse"' not in page  # current regions only
    assert page.count('name="regions"') == 18

    def run(extra: dict[str, str]) -> dict[str, Any]:
        data = {"csrf_token": csrf_token(client, url), "year": "2026", "action": "lancer", "regions": ["76"],
                **{f"r-76-{name}": value for name, value in AMOUNTS.items()}, **extra}
        response = client.post(url, data=data)
        assert response.status_code == 302
        state_url = response.headers["Location"] + "/etat"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            state = client.get(state_url).get_json()
            if state["finished"]:
                return state
            time.sleep(0.2)
        raise AssertionError("batch did not finish")

    failed = run({})
    assert failed["zip_url"] is None and "Aucun brouillon n'a été produit" in failed["message"]
    assert "Référentiel › Organisations" in failed["message"] and "drac.adresse" in failed["message"]
    filled = run({"p-76-drac.adresse": "5 rue de la Salle-l'Évêque, 34000 Montpellier",
                  "p-76-drac.representant": "Monsieur Martin", "p-76-drac.qualite": "Préfet de région",
                  "p-76-coordination_regionale.adresse": "1 rue A, 31000 Toulouse",
                  "p-76-coordination_regionale.representant": "Madame B",
                  "p-76-coordination_regionale.qualite": "Présidente"})
    assert [(r["region_code"], r["status"]) for r in filled["report"]] == [("76", "ok")]
    assert filled["zip_url"] is not None
