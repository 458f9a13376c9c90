"""``intranet deadlines-notify``: queue the deadline alerts of the day (one digest per user), then commit.

The daily scheduler (``intranet scheduler``) calls the same ``run_notify``: one unit of work
around ``documents.deadline_alerts.notify_deadlines``, with the links built on ``INTRANET_BASE_URL``.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click
from flask import Flask, current_app, url_for
from flask.cli import with_appcontext

from documents.deadline_alerts import AlertLinks, NotifyReport, notify_deadlines
from documents.unitofwork import unit_of_work

#: Environment variable that fixes « today » for the alerts and the scheduler (tests, a replay).
TODAY_ENV = "INTRANET_TODAY"


def parse_day(text: str, *, source: str) -> dt.date:
    """``text`` (AAAA-MM-JJ) as a date; ValueError with a French message naming ``source``."""
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{source} : date invalide « {text[:40]} » (format AAAA-MM-JJ attendu).") from None


def fixed_today(environ: Any = None) -> dt.date | None:
    """The day set by ``INTRANET_TODAY``, if any (ValueError if it is not a date)."""
    raw = (os.environ if environ is None else environ).get(TODAY_ENV, "")
    return parse_day(raw, source=TODAY_ENV) if raw.strip() else None


@contextmanager
def alert_links(app: Flask) -> Iterator[AlertLinks]:
    """Absolute addresses for the messages, valid while the block runs (a request context for ``url_for``)."""
    base = str(app.config["BASE_URL"]).rstrip("/")
    with app.test_request_context("/"):
        yield AlertLinks(document_url=lambda doc_id: base + url_for("library.show", document_id=doc_id),
                         deadlines_url=base + url_for("library.deadlines"),
                         profile_url=base + url_for("auth.profile") + "#alertes")


def run_notify(app: Flask, today: dt.date) -> NotifyReport:
    """One unit of work: the alerts of ``today`` and their outbox rows, committed together."""
    with alert_links(app) as links, unit_of_work(app.extensions["db_factory"]) as session:
        return notify_deadlines(session, today=today, links=links)


def summary(report: NotifyReport) -> str:
    """One French line for the terminal and the logs."""
    return (f"Alertes d'échéances du {report.today:%d/%m/%Y} : {report.messages} courriel(s) mis en file "
            f"({report.alerts} alerte(s)) pour {report.users} compte(s) abonné(s).")


@click.command("deadlines-notify")
@click.option("--today", "today_text", default=None, metavar="AAAA-MM-JJ",
              help=f"Date de référence (par défaut : {TODAY_ENV} s'il est défini, sinon aujourd'hui à Paris).")
@with_appcontext
def deadlines_notify_cmd(today_text: str | None) -> None:
    """Envoie à chaque compte un récapitulatif des échéances de son périmètre : dépassées, à 7, 30 et 90 jours.

    Chaque alerte n'est envoyée qu'une fois : relancer la commande le même jour n'envoie rien de plus.
    """
    from intranet.library.views import today_paris

    try:
        today = parse_day(today_text, source="--today") if today_text else (fixed_today() or today_paris())
    except ValueError as exc:
        click.echo(f"Erreur : {exc}", err=True)
        sys.exit(2)
    report = run_notify(current_app._get_current_object(), today)  # type: ignore[attr-defined]  # werkzeug's LocalProxy does not show the proxied object's methods
    click.echo(summary(report))


#: Click commands added to the ``intranet`` group.
COMMANDS: list[Any] = [deadlines_notify_cmd]
