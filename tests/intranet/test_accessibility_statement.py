"""The « Déclaration d'accessibilité » (RGAA 4.1): public, complete, and linked from every page's footer."""

from __future__ import annotations

from typing import Any

import pytest

from testkit import AuthActions


def test_statement_is_public_and_has_what_rgaa_requires(client: Any) -> None:
    response = client.get("/accessibilite")
    assert response.status_code == 200  # before logging in: the login page links to it too
    page = response.get_data(as_text=True)
    for heading in ("État de conformité", "Résultats des tests", "Contenus non accessibles",
                    "Établissement de cette déclaration", "Retour d'information et contact", "Voies de recours"):
        assert f"<h2>{heading}</h2>" in page, heading
    assert "<strong>non conforme</strong>" in page and "RGAA" in page and "4.1" in page
    assert "Défenseur des droits" in page and "formulaire.defenseurdesdroits.fr" in page
    assert 'href="mailto:intranet@passeurs.local"' in page  # MAIL_FROM by default


def test_contact_comes_from_the_configuration(app: Any, client: Any) -> None:
    app.config["ACCESSIBILITY_CONTACT"] = "accessibilite@example.org"
    assert 'href="mailto:accessibilite@example.org"' in client.get("/accessibilite").get_data(as_text=True)


def footer_link(page: str) -> bool:
    footer = page.split('<footer class="site-footer"', 1)[1]
    return 'href="/accessibilite">Accessibilité : non conforme</a>' in footer


def test_login_page_footer_links_to_the_statement(client: Any) -> None:
    assert footer_link(client.get("/connexion").get_data(as_text=True))


@pytest.mark.parametrize("path", ["/", "/documents/", "/recherche/", "/modeles/", "/comites/",
                                  "/referentiel/regions", "/admin/utilisateurs", "/page-qui-n-existe-pas"])
def test_every_page_footer_links_to_the_statement(client: Any, auth: AuthActions, path: str) -> None:
    auth.login("admin")
    response = client.get(path)
    assert response.status_code in (200, 404)
    assert footer_link(response.get_data(as_text=True))
