"""Drafting models are working tools, not archive content: out of « Récemment modifiés », lists and search."""

from __future__ import annotations

from typing import Any

import pytest

from documents.models import DraftingTemplate
from searchkit import archive_doc, close_index, drain
from testkit import AuthActions


@pytest.fixture(autouse=True)
def _closed_index(app: Any):
    yield
    close_index(app)


@pytest.fixture
def model_and_report(app: Any, db_session: Any) -> dict[str, Any]:
    report = archive_doc(app, db_session, "Bilan des projections", ["Projection en plein air à Lille."],
                         region=None, doc_type="bilan", year=2024)
    # Filed last, so it is the most recently changed document of all.
    model = archive_doc(app, db_session, "Modèle de convention régionale",
                        ["Projection pour la région {{ region_nom }}."], region=None, doc_type="modele")
    db_session.add(DraftingTemplate(document_id=model.id, slug="convention-test", output_type="convention"))
    db_session.commit()
    drain(app)
    return {"report": report, "model": model}


def test_models_stay_out_of_recent_lists_and_the_document_list(client: Any, auth: AuthActions,
                                                               model_and_report: dict[str, Any]) -> None:
    auth.login("admin")
    home = client.get("/").get_data(as_text=True)
    assert "Bilan des projections" in home and "Modèle de convention régionale" not in home
    listing = client.get("/documents/").get_data(as_text=True)
    assert "Bilan des projections" in listing and "Modèle de convention régionale" not in listing
    assert 'name="modeles"' in listing
    asked = client.get("/documents/?modeles=1").get_data(as_text=True)
    assert "Modèle de convention régionale" in asked
    typed = client.get("/documents/?type=modele").get_data(as_text=True)
    table = typed.split("<table")[1].split("</table>")[0]
    assert "Modèle de convention régionale" in typed and "Bilan des projections" not in table


def test_models_are_out_of_default_search_results_and_in_on_request(client: Any, auth: AuthActions,
                                                                     model_and_report: dict[str, Any]) -> None:
    auth.login("admin")
    default = client.get("/recherche/?q=projection").get_data(as_text=True)
    assert "1 résultat pour" in default and "region_nom" not in default
    assert "Modèle de convention régionale" not in default
    for url in ("/recherche/?q=projection&modeles=1", "/recherche/?q=projection&type=modele",
                "/recherche/?q=projection+type:modele"):
        page = client.get(url).get_data(as_text=True)
        assert "Modèle de convention régionale" in page, url
    both = client.get("/recherche/?q=projection&modeles=1").get_data(as_text=True)
    assert "2 résultats pour" in both and 'id="f-modeles" name="modeles" value="1" checked' in both
    api = client.get("/api/v1/search?q=projection")
    assert [item["title"] for item in api.get_json()["items"]] == ["Bilan des projections"]
    api = client.get("/api/v1/search?q=projection&modeles=1")
    assert len(api.get_json()["items"]) == 2
