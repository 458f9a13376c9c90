"""French details on every page: elision, sizes in ko, the audit log in Paris time, French order."""

from __future__ import annotations

import datetime as dt
import html
import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

import samplefiles as sf
from documents import archive
from documents.frenchtext import by_name, elide, elided, fold, format_size, french_order, sort_key
from documents.models import AuditEvent, Organisation, Region
from documents.storage import LocalStorage
from testkit import AuthActions, user

NBSP = "\u00a0"


@pytest.mark.parametrize(("particle", "word", "expected"), [
    ("que", "Équipe régionale", "qu'Équipe régionale"),
    ("que", "Lecteur", "que Lecteur"),
    ("que", "Administrateur", "qu'Administrateur"),
    ("de", "Île-de-France", "d'Île-de-France"),
    ("de", "Occitanie", "d'Occitanie"),
    ("De", "Auvergne-Rhône-Alpes", "D'Auvergne-Rhône-Alpes"),
    ("le", "hôtel de ville", "l'hôtel de ville"),  # mute h
    ("de", "Hauts-de-France", "de Hauts-de-France"),  # aspirated h
    ("le", "hasard", "le hasard"),
    ("de", "Yves Martin", "d'Yves Martin"),
    ("de", "Yaoundé", "de Yaoundé"),
    ("de", "2026", "de 2026"),
    ("de", "« Avenant »", "de « Avenant »"),
    ("pour", "Île-de-France", "pour Île-de-France"),  # not an eliding word
])
def test_elision(particle: str, word: str, expected: str) -> None:
    assert elide(particle, word) == expected
    assert elided(particle, word) + word == expected


@pytest.mark.parametrize(("size", "expected"), [
    (0, "0 octet"), (1, "1 octet"), (2, "2 octets"), (999, "999 octets"), (1000, "1 ko"),
    (186_700, "186,7 ko"), (186_749, "186,7 ko"), (999_999, "1 Mo"), (2_400_000, "2,4 Mo"),
    (3_210_000_000, "3,2 Go"),
])
def test_sizes_in_french(size: int, expected: str) -> None:
    assert format_size(size) == expected.replace(" ", NBSP)


def test_french_alphabetical_order_in_python() -> None:
    names = ["Occitanie", "Île-de-France", "Bretagne", "Auvergne-Rhône-Alpes", "Grand Est", "Œuvres",
             "Normandie", "Hauts-de-France", "éducation"]
    assert by_name(names, name=lambda n: n) == [
        "Auvergne-Rhône-Alpes", "Bretagne", "éducation", "Grand Est", "Hauts-de-France", "Île-de-France",
        "Normandie", "Occitanie", "Œuvres"]
    assert fold("Île-de-France") == "ile-de-france" and sort_key("É") < sort_key("F")


def test_french_order_in_sql_places_ile_de_france_among_the_i(db_session: Any) -> None:
    names = list(db_session.scalars(select(Region.name).order_by(french_order(Region.name))))
    assert "Île-de-France" in names and len(names) > 10
    assert names == by_name(names, name=lambda n: n)
    assert names[-1] != "Île-de-France"
    assert names.index("Hauts-de-France") + 1 == names.index("Île-de-France") == names.index("La Réunion") - 1
    organisations = list(db_session.scalars(select(Organisation.name).order_by(french_order(Organisation.name))))
    assert organisations == by_name(organisations, name=lambda n: n)


def _regions_in(page: str, select_name: str) -> list[str]:
    block = re.search(rf'<select[^>]*name="{select_name}"[^>]*>(.*?)</select>', page, flags=re.S)
    assert block, select_name
    return [html.unescape(t).strip() for t in re.findall(r"<option[^>]*>([^<]*)</option>", block.group(1))]


def test_region_lists_on_pages_are_in_french_order(client: Any, auth: AuthActions) -> None:
    auth.login("admin")
    regions_page = html.unescape(client.get("/referentiel/regions").get_data(as_text=True))
    assert regions_page.index("Hauts-de-France") < regions_page.index("Île-de-France") \
        < regions_page.index("Martinique")
    assert "Voir les quartiers d'Île-de-France" in re.sub(r"<[^>]+>", "", regions_page)
    upload = client.get("/documents/nouveau").get_data(as_text=True)
    options = [o for o in _regions_in(upload, "region") if "(" in o]
    assert options == by_name(options, name=lambda n: n)
    assert any(o.startswith("Île-de-France") for o in options)


def test_home_page_elides_the_role(client: Any, auth: AuthActions) -> None:
    auth.login("idf")
    page = re.sub(r"<[^>]+>", "", html.unescape(client.get("/").get_data(as_text=True)))
    assert "Vous êtes connecté en tant qu'Équipe régionale pour la région Île-de-France" in page
    auth.logout()
    auth.login("lecteur")
    page = re.sub(r"<[^>]+>", "", html.unescape(client.get("/").get_data(as_text=True)))
    assert "connecté en tant que Lecteur" in page


def test_document_page_shows_sizes_in_ko(app: Any, client: Any, auth: AuthActions, db_session: Any) -> None:
    path = Path(app.config["DATA_DIR"]) / "gros.pdf"
    path.write_bytes(sf.make_pdf(["Un document d'une certaine taille. " * 40] * 30))
    doc = archive.archive_document(db_session, LocalStorage(app.config["STORAGE_DIR"]), actor=user(db_session, "idf"),
                                   path=path, filename="gros.pdf",
                                   meta=archive.Metadata(title="Gros document", region_code="11"))
    db_session.commit()
    size = doc.current.size
    assert size >= 1000
    auth.login("idf")
    page = html.unescape(client.get(f"/documents/{doc.id}").get_data(as_text=True))
    assert format_size(size) in page and re.search(r"\d,\d\u00a0ko|\d\u00a0ko", page)
    assert "kB" not in page and "KiB" not in page


def test_audit_log_is_in_paris_time(client: Any, auth: AuthActions, db_session: Any) -> None:
    db_session.add(AuditEvent(at=dt.datetime(2026, 7, 1, 12, 0, 5, tzinfo=dt.UTC), action="essai.ete",
                              actor_email="horloge@test.fr", outcome="ok"))
    db_session.add(AuditEvent(at=dt.datetime(2026, 1, 15, 23, 30, 0, tzinfo=dt.UTC), action="essai.hiver",
                              actor_email="horloge@test.fr", outcome="ok"))
    db_session.commit()
    auth.login("admin")
    page = html.unescape(client.get("/admin/journal?action=essai").get_data(as_text=True))
    assert "heure de Paris" in page
    assert "1 juil. 2026, 14:00:05" in page  # UTC+2 in summer
    assert "16 janv. 2026, 00:30:00" in page  # UTC+1 in winter, the next day
    assert 'datetime="2026-07-01T12:00:05+00:00"' in page
