"""``intranet signature DOC STEP …`` (show or move a document's signature track) and
``intranet signature-reminders [--today]`` (queue the reminders that are due)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext

from documents.bounds import MAX_ID
from intranet.library.cli import _AS, _actor, _fail, _run, _session

STEPS = ["etat", "envoi", "coordination", "drac", "signataire", "retour"]


def _day(text: str | None) -> dt.date:
    from intranet.library.views import today_paris

    if not text:
        return today_paris()
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        _fail(f"date invalide : « {text} » (format AAAA-MM-JJ attendu).")
        raise


def _print_track(session: Any, doc: Any) -> None:
    from documents import signatures
    from documents.models import StepKind

    track = signatures.track_of(session, doc)
    click.echo(f"Document {doc.id} « {doc.title} » : {doc.status_label}")
    for s in track.history:
        label = signatures.step_label(StepKind(s.kind), doc, s.organisation, s.signatory)
        extra = f" à {s.signatory}" if s.kind == "envoi" else (f" : « {s.reason} »" if s.reason else "")
        click.echo(f"  {s.step_date.isoformat()}  {label}{extra}")
    if track.next is not None:
        who = ", ".join(o.slug for o in track.next.signatories)
        click.echo(f"Étape attendue : {track.next.label}" + (f" ({who})" if who else "")
                   + (" — dernière signature : --scan obligatoire" if track.next.final else ""))


@click.command("signature")
@click.argument("document_id", type=click.IntRange(min=1, max=MAX_ID))
@click.argument("step", type=click.Choice(STEPS))
@click.option("--date", "date_text", default=None, metavar="AAAA-MM-JJ",
              help="Date de l'envoi ou de la signature (par défaut : aujourd'hui).")
@click.option("--to", "recipient", default="", help="envoi : personne ou organisation destinataire.")
@click.option("--user", "recipient_email", default=None, help="envoi : adresse du compte à relancer.")
@click.option("--signatory", default=None, help="signataire : slug du signataire national (cnc, acse…).")
@click.option("--scan", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Dernière signature : le scan du document signé (devient la version signée).")
@click.option("--comment", default="", help="Commentaire de la version signée.")
@click.option("--reason", default="", help="retour : motif du retour en brouillon.")
@_AS
@with_appcontext
def signature_cmd(document_id: int, step: str, date_text: str | None, recipient: str, recipient_email: str | None,
                  signatory: str | None, scan: Path | None, comment: str, reason: str, as_email: str | None) -> None:
    """Affiche (etat) ou fait avancer le circuit de signature d'un document : envoi, coordination, drac,
    signataire (protocole) ou retour en brouillon."""
    from sqlalchemy import select

    from documents import archive, signatures
    from documents.models import Organisation
    from intranet.cli import user_by_email
    from intranet.extensions import storage
    from intranet.library.views import today_paris

    actor = _actor(as_email)
    session = _session()
    if step == "etat":
        try:
            doc = archive.get_document(session, actor, document_id)
        except Exception as exc:  # noqa: BLE001 - a DomainError is a French message
            _fail(getattr(exc, "message", str(exc)))
            return
        _print_track(session, doc)
        return
    on, today = _day(date_text), today_paris()
    recipient_user = user_by_email(recipient_email) if recipient_email else None
    organisation = None
    if signatory:
        organisation = session.scalar(select(Organisation).where(Organisation.slug == signatory))
        if organisation is None:
            _fail(f"aucun signataire n'a le slug « {signatory} ».")

    def move(s: Any) -> None:
        doc = archive.get_document(s, actor, document_id)
        if step == "envoi":
            signatures.send_for_signature(s, doc, actor=actor, recipient=recipient, recipient_user=recipient_user,
                                          on=on, today=today, ip="cli", base_url=current_app.config["BASE_URL"])
        elif step == "retour":
            signatures.return_to_draft(s, doc, actor=actor, reason=reason, today=today, ip="cli")
        else:
            signatures.record_signature(s, storage(), doc, actor=actor, kind=step, on=on, organisation=organisation,
                                        scan=scan, filename=scan.name if scan else "", comment=comment, today=today,
                                        ip="cli")

    _run(move)
    from documents.models import Document

    _print_track(session, session.get(Document, document_id))


@click.command("signature-reminders")
@click.option("--today", "today_text", default=None, metavar="AAAA-MM-JJ",
              help="Date de référence (par défaut : aujourd'hui).")
@click.option("--json", "as_json", is_flag=True, help="Bilan en JSON.")
@with_appcontext
def signature_reminders_cmd(today_text: str | None, as_json: bool) -> None:
    """Met en file les relances de signature dues (une par document et par période de relance)."""
    from documents import signatures
    from documents.errors import DomainError
    from documents.unitofwork import unit_of_work
    from intranet.extensions import db
    from intranet.signatures.settings import reminder_days

    today = _day(today_text)
    try:
        delays = reminder_days(current_app.config)
        with unit_of_work(db.factory) as session:
            report = signatures.signature_reminders(session, today, delays=delays,
                                                    base_url=current_app.config.get("BASE_URL", ""))
    except DomainError as exc:
        _fail(exc.message)
        return
    if as_json:
        click.echo(json.dumps({"today": today.isoformat(), "sent": report.sent, "documents": report.documents,
                               "skipped": [{"document_id": d, "reason": r} for d, r in report.skipped]},
                              ensure_ascii=False, indent=2))
        return
    click.echo(f"Relances de signature au {today.isoformat()} : {report.sent} mise(s) en file.")
    for doc_id, why in report.skipped:
        click.echo(f"  document {doc_id} : pas de relance ({why})")


def run_reminders(app: Any, today: dt.date) -> str:
    """The daily job of the scheduler: the reminders due ``today``, in one unit of work; one French line."""
    from documents import signatures
    from documents.unitofwork import unit_of_work
    from intranet.signatures.settings import reminder_days

    with unit_of_work(app.extensions["db_factory"]) as session:
        report = signatures.signature_reminders(session, today, delays=reminder_days(app.config),
                                                base_url=app.config.get("BASE_URL", ""))
    return f"Relances de signature du {today:%d/%m/%Y} : {report.sent} mise(s) en file."


COMMANDS = [signature_cmd, signature_reminders_cmd]
