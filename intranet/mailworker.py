"""``intranet mail-worker``: the background job that sends the mail outbox (``documents.mailqueue``)."""

from __future__ import annotations

import signal
import sys
import threading
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext

from documents import heartbeat, mailqueue
from documents.mail import MailError, mailer_from_config

#: Name of the worker's heartbeat and of its ``intranet.background`` declaration.
NAME = "mail-worker"


@click.command("mail-worker")
@click.option("--once", is_flag=True, help="Envoie ce qui est dû une fois, puis s'arrête.")
@click.option("--interval", type=click.FloatRange(min=0.05, max=3600), default=2.0, show_default=True,
              help="Secondes entre deux passages quand la file est vide.")
@with_appcontext
def mail_worker_cmd(once: bool, interval: float) -> None:
    """Envoie les courriels de la file (SMTP ou dossier .eml), avec nouveaux essais, jusqu'à SIGTERM."""
    run_mail_worker_for(current_app, once=once, interval=interval)


def run_mail_worker_for(app: Any, *, once: bool = False, interval: float = 2.0) -> None:
    """Run the mail worker on ``app``'s database and mail settings until SIGTERM/SIGINT (or once)."""
    config = app.config
    try:
        mailer = mailer_from_config(config)
    except MailError as exc:
        click.echo(f"Erreur : {exc.message}", err=True)
        sys.exit(2)
    factory = app.extensions["db_factory"]
    max_attempts = int(config.get("MAIL_MAX_ATTEMPTS") or mailqueue.DEFAULT_MAX_ATTEMPTS)
    base_delay = float(config.get("MAIL_RETRY_DELAY") or mailqueue.DEFAULT_BASE_DELAY)
    if once:
        report = mailqueue.deliver_due(factory, mailer, max_attempts=max_attempts, base_delay=base_delay)
        click.echo(f"{report.sent} courriel(s) envoyé(s), {report.failed} en échec, {report.dead} abandonné(s).")
        sys.exit(1 if report.failed or report.dead else 0)
    stop = threading.Event()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            # Finish the message being sent, then stop: a claimed message is never half recorded.
            signal.signal(sig, lambda *_: stop.set())
    click.echo(f"Envoi des courriels démarré ({type(mailer).__name__}, Ctrl+C pour arrêter).", err=True)
    beat = heartbeat.Beater(config["DATA_DIR"], NAME)
    mailqueue.run_worker(factory, mailer, stop=stop, interval=interval, max_attempts=max_attempts,
                         base_delay=base_delay, heartbeat=beat)


#: Click commands added to the ``intranet`` group.
COMMANDS: list[Any] = [mail_worker_cmd]
