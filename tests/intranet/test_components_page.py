"""« Composants de l'interface » (/aide/composants): for every logged-in user, with the class names to use."""

from __future__ import annotations

from typing import Any

from testkit import AuthActions


def test_the_components_page_shows_each_component_with_its_classes(client: Any, auth: AuthActions) -> None:
    assert client.get("/aide/composants").status_code == 302  # logged-in users only
    auth.login("lecteur_idf")
    response = client.get("/aide/composants")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    for name in (".button.primary", "badge-status-signe", ".card", ".alert-error", "class=\"table-scroll\"", "nav.tabs",
                 ".picker", ".chip", "data-picker", "--accent", "{{ icon('upload') }}"):
        assert name in page, name
    # Icons: inline SVG hidden from screen readers, beside a text.
    assert '<svg class="icon" viewBox="0 0 24 24" aria-hidden="true" focusable="false">' in page
    # Pickers over native selects: organisations (multiple), a quartier (single), a document (server suggestions).
    assert '<select aria-describedby="parties-hint" data-picker="" id="parties" multiple name="parties">' in page
    assert '<select data-picker="" id="quartier" name="quartier">' in page
    assert 'data-picker-suggest="/api/v1/documents/suggest"' in page
    home = client.get("/").get_data(as_text=True)
    assert '<a href="/aide/composants">Composants de l\'interface</a>' in home  # linked from the footer


def test_the_sample_form_shows_back_what_it_sends_and_stores_nothing(client: Any, auth: AuthActions) -> None:
    auth.login("idf")
    page = client.get("/aide/composants?title=Essai&parties=3&parties=5&quartier=&document=12").get_data(as_text=True)
    assert "Valeurs envoyées" in page
    assert "<dt>parties</dt><dd>3, 5</dd>" in page and "<dt>document</dt><dd>12</dd>" in page
    assert '<option selected value="12">n° 12</option>' in page
    # Hostile values are shown escaped; a huge or non-numeric document value is not offered as a choice.
    page = client.get("/aide/composants", query_string={"title": "<script>x</script>", "document": "9" * 30})
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "<script>x</script>" not in text and "&lt;script&gt;x&lt;/script&gt;" in text
    assert f'value="{"9" * 30}"' not in text
    assert client.get("/aide/composants?title=%00").status_code == 400
