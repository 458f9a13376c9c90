"""The ``intranet`` command line: load-reference, create-user, create-token, bootstrap."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from documents.models import Organisation, Quartier, Region, User
from testkit import USERS, AuthActions, empty_database, make_app, sqlite_only

BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])
STRONG = "Une-phrase-de-passe-pour-le-script"


@pytest.fixture(params=BACKENDS)
def fresh_app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """An app on a database without any table, as on a fresh machine."""
    with empty_database(request.param, tmp_path) as url:
        app = make_app(url, tmp_path / "fresh")
        yield app
        app.extensions["db_engine"].dispose()


def counts(app: Any) -> dict[str, int]:
    """Rows per reference table, read in a fresh session."""
    with app.extensions["db_factory"]() as session:
        return {model.__tablename__: session.scalar(select(func.count()).select_from(model))
                for model in (Region, Organisation, Quartier, User)}


def test_load_reference_is_idempotent(fresh_app: Any) -> None:
    runner = fresh_app.test_cli_runner()
    assert runner.invoke(args=["db", "upgrade"]).output.strip() == "Base de données à jour."
    first = runner.invoke(args=["load-reference"])
    assert first.exit_code == 0, first.output
    assert "38 regions ajoutés" in first.output and "215 quartiers ajoutés" in first.output
    after_first = counts(fresh_app)
    assert after_first["region"] == 38 and after_first["quartier"] == 215 and after_first["organisation"] >= 32

    # An admin's edit survives a reload of the shipped data.
    with fresh_app.extensions["db_factory"]() as session:
        org = session.scalar(select(Organisation).where(Organisation.slug == "cnc"))
        org.representative = "Représentant choisi par l'admin"
        session.commit()
    second = runner.invoke(args=["load-reference"])
    assert second.exit_code == 0
    assert "0 regions ajoutés, 0 organisations ajoutés, 0 quartiers ajoutés" in second.output
    assert counts(fresh_app) == after_first
    with fresh_app.extensions["db_factory"]() as session:
        assert session.scalar(select(Organisation.representative).where(Organisation.slug == "cnc")) == \
            "Représentant choisi par l'admin"


def test_bootstrap_twice_keeps_data(fresh_app: Any) -> None:
    runner = fresh_app.test_cli_runner()
    first = runner.invoke(args=["bootstrap", "--admin-email", "Chef@Passeurs.local"])
    assert first.exit_code == 0, first.output
    assert "Premier administrateur créé" in first.output
    assert "Identifiant : chef@passeurs.local" in first.output
    password = re.search(r"Mot de passe à usage unique : (\S+)", first.output).group(1)
    assert len(password) >= 12

    client = fresh_app.test_client()
    login = AuthActions(client).login("chef@passeurs.local", password)
    assert login.status_code == 302 and login.headers["Location"] == "/profil/mot-de-passe"
    created = runner.invoke(args=["create-user", "garde@test.fr", "--role", "national", "--password-stdin"],
                            input=STRONG + "\n")
    assert created.exit_code == 0, created.output
    before = counts(fresh_app)
    assert before["region"] == 38 and before["quartier"] == 215 and before["user_account"] == 2

    second = runner.invoke(args=["bootstrap", "--admin-email", "autre@passeurs.local"])
    assert second.exit_code == 0, second.output
    assert "Administrateur existant : chef@passeurs.local" in second.output
    assert "Mot de passe" not in second.output and password not in second.output
    assert counts(fresh_app) == before
    assert AuthActions(fresh_app.test_client()).login("garde@test.fr", STRONG).status_code == 302


@sqlite_only
def test_create_user_with_password_stdin(app: Any, runner: Any) -> None:
    result = runner.invoke(args=["create-user", "Robot@Test.fr", "--role", "regional", "--region", "93",
                                 "--name", "Compte de script", "--password-stdin"], input=STRONG + "\n")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "Compte créé : robot@test.fr (regional, région 93)"
    assert STRONG not in result.output
    login = AuthActions(app.test_client()).login("robot@test.fr", STRONG)
    assert login.status_code == 302 and login.headers["Location"] == "/"


@sqlite_only
def test_create_user_prints_a_one_time_password(app: Any, runner: Any) -> None:
    result = runner.invoke(args=["create-user", "nouveau@test.fr", "--role", "lecteur"])
    assert result.exit_code == 0, result.output
    password = re.search(r"Mot de passe à usage unique : (\S+)", result.output).group(1)
    login = AuthActions(app.test_client()).login("nouveau@test.fr", password)
    assert login.headers["Location"] == "/profil/mot-de-passe"


CREATE_ERRORS = [
    (["chef@test.fr", "--role", "chef"], None, "Rôle inconnu"),
    (["sans@test.fr", "--role", "regional"], None, "Un compte d'équipe régionale doit avoir une région."),
    (["loin@test.fr", "--role", "regional", "--region", "99"], None, "Aucune région n'a le code 99."),
    ([USERS["idf"][0], "--role", "national"], None, "Ce compte existe déjà."),
    (["court@test.fr", "--role", "national", "--password-stdin"], "court\n", "au moins 12 caractères"),
    (["banal@test.fr", "--role", "national", "--password-stdin"], "azerty123456\n", "trop courant"),
]


@sqlite_only
def test_create_user_errors_exit_2_in_french(app: Any, runner: Any) -> None:
    before = counts(app)["user_account"]
    for args, stdin, message in CREATE_ERRORS:
        result = runner.invoke(args=["create-user", *args], input=stdin)
        assert result.exit_code == 2, args
        assert result.output.startswith("Erreur : "), args
        assert message in result.output, args
        assert "Traceback" not in result.output
    assert counts(app)["user_account"] == before


@sqlite_only
def test_create_token_prints_a_working_token(app: Any, runner: Any) -> None:
    result = runner.invoke(args=["create-token", USERS["paca"][0].upper(), "--name", "tableur"])
    assert result.exit_code == 0, result.output
    token = result.output.strip()
    assert re.fullmatch(r"pi_[\w-]{40,}", token)
    me = app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.get_json()["email"] == USERS["paca"][0]

    unknown = runner.invoke(args=["create-token", "personne@test.fr", "--name", "x"])
    assert unknown.exit_code == 2 and "aucun compte n'a l'adresse personne@test.fr" in unknown.output
    unnamed = runner.invoke(args=["create-token", USERS["paca"][0], "--name", "  "])
    assert unnamed.exit_code == 2 and "Donnez un nom au jeton." in unnamed.output


def test_update_user_through_the_cli(app: Any, runner: Any, db_session: Any) -> None:
    done = runner.invoke(args=["update-user", "paca@test.fr", "--role", "regional", "--region", "11",
                               "--as", "admin@test.fr"])
    assert done.exit_code == 0, done.output
    assert done.output.strip() == "Compte modifié : paca@test.fr (regional, région 11, actif)"
    db_session.expire_all()
    assert db_session.scalar(select(User.region_code).where(User.email == "paca@test.fr")) == "11"


@pytest.mark.parametrize("change", [["--role", "national"], ["--inactive"]])
def test_an_admin_cannot_demote_themself_through_the_cli(app: Any, runner: Any, db_session: Any,
                                                         change: list[str]) -> None:
    refused = runner.invoke(args=["update-user", "admin@test.fr", *change, "--as", "admin@test.fr"])
    assert refused.exit_code == 2
    assert "Erreur : Vous ne pouvez pas retirer vos propres droits d'administrateur." in refused.output
    db_session.expire_all()
    admin = db_session.scalar(select(User).where(User.email == "admin@test.fr"))
    assert (admin.role, admin.active) == ("admin", True)
