"""The ``intranet`` command line: the same domain verbs as the web views."""

from __future__ import annotations

import sys
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext
from sqlalchemy import select

from documents import accounts, migrate, reference
from documents.errors import DomainError
from documents.models import User
from intranet.config import deploy_problems


def _session() -> Any:
    from intranet.extensions import db

    return db.session


def fail(message: str) -> None:
    """Stop with a French message and exit code 2."""
    click.echo(f"Erreur : {message}", err=True)
    sys.exit(2)


def user_by_email(email: str) -> User:
    """The account with this e-mail, or a CLI error."""
    user = _session().scalar(select(User).where(User.email == accounts.normalise_email(email)))
    if user is None:
        fail(f"aucun compte n'a l'adresse {email}.")
    assert user is not None
    return user


@click.group("db", help="Schéma de la base de données (migrations Alembic).")
def db_group() -> None:
    """Database commands."""


@db_group.command("upgrade")
@click.option("--revision", default="heads", show_default=True)
@with_appcontext
def db_upgrade(revision: str) -> None:
    """Applique les migrations."""
    migrate.upgrade(current_app.config["DATABASE_URL"], revision)
    click.echo("Base de données à jour.")


@db_group.command("downgrade")
@click.argument("revision")
@with_appcontext
def db_downgrade(revision: str) -> None:
    """Revient à une migration antérieure."""
    migrate.downgrade(current_app.config["DATABASE_URL"], revision)
    click.echo(f"Base de données ramenée à {revision}.")


@click.command("load-reference")
@with_appcontext
def load_reference_cmd() -> None:
    """Charge les régions, organisations et quartiers du protocole (idempotent)."""
    session = _session()
    created = reference.load_reference(session)
    session.commit()
    click.echo("Référentiel chargé : " + ", ".join(f"{v} {k} ajoutés" for k, v in created.items()))


@click.command("create-user")
@click.argument("email")
# The role is checked by the domain, whose refusal is in French (click's Choice error is English).
@click.option("--role", required=True, help="admin, national, regional ou lecteur.")
@click.option("--region", "region_code", default=None, help="Code de région (ex. 11).")
@click.option("--name", default="", help="Nom complet.")
@click.option("--password-stdin", is_flag=True, help="Lit le mot de passe sur l'entrée standard.")
@with_appcontext
def create_user_cmd(email: str, role: str, region_code: str | None, name: str, password_stdin: bool) -> None:
    """Crée un compte. Sans --password-stdin, un mot de passe à usage unique est affiché."""
    session = _session()
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        one_time = False
    else:
        password = accounts.generate_password()
        one_time = True
    try:
        user = accounts.create_user(session, email=email, role=role, region_code=region_code, name=name,
                                    password=password, must_change_password=one_time)
    except DomainError as exc:
        session.rollback()
        details = "; ".join(getattr(exc, "errors", {}).values())
        fail(exc.message + (f" ({details})" if details and details != exc.message else ""))
        return
    session.commit()
    click.echo(f"Compte créé : {user.email} ({user.role}{', région ' + user.region_code if user.region_code else ''})")
    if one_time:
        click.echo(f"Mot de passe à usage unique : {password}")


@click.command("update-user")
@click.argument("email")
@click.option("--role", default=None, help="Nouveau rôle (admin, national, regional ou lecteur).")
@click.option("--region", "region_code", default=None, help="Nouvelle région (code, ex. 11).")
@click.option("--name", default=None, help="Nouveau nom complet.")
@click.option("--active/--inactive", default=None, help="Active ou désactive le compte.")
@click.option("--as", "actor_email", default=None, help="Compte qui fait la modification (journal d'audit).")
@with_appcontext
def update_user_cmd(email: str, role: str | None, region_code: str | None, name: str | None,
                    active: bool | None, actor_email: str | None) -> None:
    """Modifie le rôle, la région, le nom ou l'état d'un compte (ce qui n'est pas donné reste inchangé)."""
    session = _session()
    user = user_by_email(email)
    actor = user_by_email(actor_email) if actor_email else None
    try:
        accounts.update_user(
            session, user,
            role=role if role is not None else user.role,
            region_code=region_code if region_code is not None else user.region_code,
            name=name if name is not None else user.name,
            active=active if active is not None else user.active,
            actor=actor,
        )
    except DomainError as exc:
        session.rollback()
        fail(exc.message)
        return
    session.commit()
    region = f", région {user.region_code}" if user.region_code else ""
    state = "actif" if user.active else "désactivé"
    click.echo(f"Compte modifié : {user.email} ({user.role}{region}, {state})")


@click.command("create-token")
@click.argument("email")
@click.option("--name", required=True, help="Nom du jeton (usage).")
@with_appcontext
def create_token_cmd(email: str, name: str) -> None:
    """Crée un jeton d'API personnel et l'affiche une seule fois."""
    session = _session()
    user = user_by_email(email)
    try:
        _token, plaintext = accounts.create_token(session, user, name)
    except DomainError as exc:
        fail(exc.message)
        return
    session.commit()
    click.echo(plaintext)


@click.command("check-deploy")
@with_appcontext
def check_deploy_cmd() -> None:
    """Vérifie que la configuration est sûre pour la production."""
    problems = deploy_problems(dict(current_app.config))
    if problems:
        for problem in problems:
            click.echo(f"✗ {problem}", err=True)
        sys.exit(1)
    click.echo("✓ Configuration de production correcte.")


@click.command("bootstrap")
@click.option("--admin-email", default="admin@passeurs.local", show_default=True)
@with_appcontext
def bootstrap_cmd(admin_email: str) -> None:
    """Migrations, référentiel et premier administrateur (utilisé par ``make run``)."""
    migrate.upgrade(current_app.config["DATABASE_URL"])
    session = _session()
    reference.load_reference(session)
    result = accounts.ensure_admin(session, email=admin_email)
    for hook in BOOTSTRAP_HOOKS:
        hook(session)
    session.commit()
    click.echo(f"Données : {current_app.config['DATA_DIR']}")
    if result.password:
        click.echo("")
        click.echo("  Premier administrateur créé")
        click.echo(f"  Identifiant : {result.email}")
        click.echo(f"  Mot de passe à usage unique : {result.password}")
        click.echo("  (à changer à la première connexion)")
        click.echo("")
    else:
        click.echo(f"Administrateur existant : {result.email}")


#: Steps that features add to ``bootstrap`` (e.g. loading the built-in Word models).
BOOTSTRAP_HOOKS: list[Any] = []

COMMANDS = [db_group, load_reference_cmd, create_user_cmd, update_user_cmd, create_token_cmd, check_deploy_cmd,
            bootstrap_cmd]


def register(app: Flask) -> None:
    """Attach every command (foundation and features) to ``app.cli``."""
    from intranet import mailworker, scheduler
    from intranet.agreements import cli as agreements_cli
    from intranet.committees import cli as committees_cli
    from intranet.drafting import cli as drafting_cli
    from intranet.library import alerts as alerts_cli
    from intranet.library import cli as library_cli
    from intranet.library import thumbnail_cli
    from intranet.ocr import cli as ocr_cli
    from intranet.reference import cli as reference_cli
    from intranet.search import cli as search_cli
    from intranet.signatures import cli as signatures_cli

    for command in [*COMMANDS, *library_cli.COMMANDS, *search_cli.COMMANDS, *drafting_cli.COMMANDS,
                    *committees_cli.COMMANDS, *reference_cli.COMMANDS,
                    *ocr_cli.COMMANDS, *mailworker.COMMANDS, *agreements_cli.COMMANDS,
                    *signatures_cli.COMMANDS, *alerts_cli.COMMANDS, *scheduler.COMMANDS, *thumbnail_cli.COMMANDS]:
        app.cli.add_command(command)


def _create_app() -> Flask:
    from intranet import create_app
    from intranet.config import ConfigError
    from intranet.logs import configure_logging

    configure_logging()
    try:
        return create_app()
    except ConfigError as exc:
        # A refused production configuration is an answer, not a crash: say which settings, exit 1.
        click.echo(str(exc), err=True)
        sys.exit(1)


@click.group(cls=FlaskGroup, create_app=_create_app, add_default_commands=False,
             add_version_option=False, load_dotenv=False)
def main() -> None:
    """Intranet Passeurs d'images : commandes d'administration."""
