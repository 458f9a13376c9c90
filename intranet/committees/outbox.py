"""Administrators' view of outgoing mail: the outbox table (with dead letters to retry) and the .eml folder."""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, redirect, render_template, url_for

from documents import mail, mailqueue
from documents.models import MailState
from intranet.committees.blueprint import bp
from intranet.extensions import db
from intranet.web import admin_required, client_ip, current_actor

_LINKS = [("committees.mail_outbox", "Courriels")]


@bp.route("/admin/courriels")
@admin_required
def mail_outbox() -> Any:
    """The mail outbox (waiting, sent, failed, dead messages) and the messages written to the .eml folder."""
    session = db.session
    return render_template(
        "committees/outbox.html", queue=mailqueue.list_messages(session, limit=200),
        stats=mailqueue.stats(session), states={s.value: s.label for s in MailState},
        entries=mail.list_outbox(current_app.config["MAIL_OUTBOX_DIR"]), admin_links=_LINKS,
    )


@bp.route("/admin/courriels/file/<id:message_id>/renvoyer", methods=["POST"])
@admin_required
def mail_retry(message_id: int) -> Any:
    """Give a dead (or failed) message a fresh series of attempts; the mail worker sends it next."""
    row = mailqueue.retry(db.session, message_id, actor=current_actor(), ip=client_ip())
    flash(f"Le courriel « {row.subject} » sera renvoyé par le processus d'envoi.", "success")
    return redirect(url_for("committees.mail_outbox"))


@bp.route("/admin/courriels/<name>")
@admin_required
def mail_message(name: str) -> Any:
    """One message of the .eml folder."""
    entry = mail.read_outbox(current_app.config["MAIL_OUTBOX_DIR"], name)
    return render_template("committees/outbox_message.html", entry=entry, admin_links=_LINKS)
