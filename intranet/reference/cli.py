"""``intranet organisations export|import``: the référentiel's organisations as one CSV file."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from flask.cli import with_appcontext

from documents import organisations_csv
from documents.errors import DomainError


@click.group("organisations")
def organisations_group() -> None:
    """Exporte ou importe les organisations du référentiel (CSV UTF-8, « ; »)."""


@organisations_group.command("export")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Fichier CSV à écrire.")
@with_appcontext
def export_cmd(out: Path) -> None:
    """Écrit toutes les organisations dans un CSV à compléter puis réimporter."""
    from intranet.extensions import db

    out.write_text(organisations_csv.export_csv(db.session), encoding="utf-8", newline="")
    click.echo(f"Organisations exportées dans {out}.")


@organisations_group.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Montre ce qui changerait, sans rien modifier.")
@click.option("--as", "as_email", default=None, help="Compte qui importe (par défaut : le premier administrateur).")
@with_appcontext
def import_cmd(path: Path, dry_run: bool, as_email: str | None) -> None:
    """Crée ou met à jour les organisations d'un CSV (clé stable : colonne « cle »). Code 1 si une ligne est fausse."""
    from documents import intake
    from intranet.cli import user_by_email
    from intranet.extensions import db

    actor: Any = user_by_email(as_email) if as_email else intake.default_actor(db.session)
    try:
        report = organisations_csv.import_csv(db.session, path.read_bytes(), actor=actor, dry_run=dry_run)
    except DomainError as exc:
        db.session.rollback()
        click.echo(f"Erreur : {exc.message}", err=True)
        sys.exit(2)
    for change in report.lines:
        if change.action == "inchangée":
            continue
        click.echo(f"ligne {change.line} : {change.action} de « {change.name} » ({change.key})")
        for attr, (before, after) in change.changes.items():
            click.echo(f"    {organisations_csv.LABELS.get(attr, attr)} : {organisations_csv.shown(before)} → "
                       f"{organisations_csv.shown(after)}")
    for _, message in report.errors:
        click.echo(message, err=True)
    if report.applied:
        db.session.commit()
    else:
        db.session.rollback()
    click.echo(report.summary())
    if report.errors:
        sys.exit(1)


COMMANDS: list[Any] = [organisations_group]
