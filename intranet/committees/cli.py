"""``intranet`` commands of the committees feature, and its bootstrap step."""

from __future__ import annotations

from typing import Any

import click
from flask.cli import with_appcontext

from documents.committees.committee import ensure_committees
from documents.committees.compliance import compliance
from documents.committees.dates import local
from documents.committees.limits import DEFAULT_DRAFT_DAYS
from intranet.cli import BOOTSTRAP_HOOKS


def bootstrap_committees(session: Any) -> None:
    """Bootstrap step: the national committee and one regional committee per region (idempotent)."""
    ensure_committees(session)


if bootstrap_committees not in BOOTSTRAP_HOOKS:
    BOOTSTRAP_HOOKS.append(bootstrap_committees)


@click.command("committees-init")
@with_appcontext
def committees_init_cmd() -> None:
    """Crée le comité national et un comité régional par région (idempotent)."""
    from intranet.extensions import db

    created = ensure_committees(db.session)
    db.session.commit()
    click.echo(f"Comités créés : {created}.")


@click.command("committees-compliance")
@click.option("--draft-days", default=DEFAULT_DRAFT_DAYS, show_default=True,
              help="Délai (jours) au-delà duquel un compte rendu en brouillon est en retard.")
@with_appcontext
def committees_compliance_cmd(draft_days: int) -> None:
    """Affiche les comités sans réunion cette année, les comptes rendus et actions en retard."""
    from intranet.extensions import db

    report = compliance(db.session, _everyone(), draft_days=draft_days)
    click.echo(f"Comités sans réunion en {report.year} : {len(report.not_met)}")
    for committee, planned in report.not_met:
        suffix = f" (prévue le {local(planned.starts_at):%d/%m/%Y})" if planned else ""
        click.echo(f"  - {committee.name}{suffix}")
    click.echo(f"Comptes rendus en retard (> {draft_days} jours) : {len(report.minutes_late)}")
    for meeting in report.minutes_late:
        click.echo(f"  - {meeting.committee.name}, réunion du {local(meeting.starts_at):%d/%m/%Y} "
                   f"({meeting.minutes_status_label})")
    click.echo(f"Actions en retard : {len(report.actions_overdue)}")
    for action in report.actions_overdue:
        click.echo(f"  - {action.due_date:%d/%m/%Y} {action.title[:80]} ({action.owner or 'sans responsable'})")


def _everyone() -> Any:
    """A national view for the command line (an operator on the server sees everything)."""
    from documents.models import Role, User

    return User(email="cli@localhost", role=Role.NATIONAL.value, active=True)


#: Click commands added to the ``intranet`` group.
COMMANDS: list[Any] = [committees_init_cmd, committees_compliance_cmd]
