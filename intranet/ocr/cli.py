"""``intranet ocr-worker`` and ``intranet ocr``: the OCR queue's worker and tools."""

from __future__ import annotations

import signal
import sys
import threading
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext

from documents import heartbeat
from documents.models import Document
from documents.ocr import queue
from documents.ocr.worker import OcrSettings, process_one, run_ocr_worker


def settings_of(app: Any) -> OcrSettings:
    """The OCR settings of ``app`` (``INTRANET_OCR_*`` in the environment, see README)."""
    return app.config.get("OCR_SETTINGS") or OcrSettings()


def _beat_while(beat: heartbeat.Beater, stop: threading.Event) -> threading.Thread:
    # A job may run for minutes: the process beats from its own thread, so /sante tells a
    # worker that is alive and busy from one that is gone.
    def loop() -> None:
        while not stop.is_set():
            beat()
            stop.wait(beat.every)

    thread = threading.Thread(target=loop, name="ocr-worker-heartbeat", daemon=True)
    thread.start()
    return thread


def run_ocr_worker_for(app: Any, *, once: bool = False) -> int:
    """Run the OCR worker on ``app``'s database and store until SIGTERM/SIGINT (or, with ``once``, until idle)."""
    from intranet.extensions import storage

    stop = threading.Event()
    if not once and threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            # Finish the current job, then stop; a job cut short by kill -9 is claimed again later.
            signal.signal(sig, lambda *_: stop.set())
    if not once:
        _beat_while(heartbeat.Beater(app.config["DATA_DIR"], "ocr"), stop)
    try:
        with app.app_context():
            return run_ocr_worker(app.extensions["db_factory"], storage(), settings_of(app), stop=stop, once=once)
    finally:
        stop.set()


@click.command("ocr-worker")
@click.option("--once", is_flag=True, help="Traite les reconnaissances en attente puis s'arrête.")
@with_appcontext
def ocr_worker_cmd(once: bool) -> None:
    """Le lecteur de textes scannés : traite la file de reconnaissance du texte (OCR) jusqu'à SIGTERM."""
    settings = settings_of(current_app)
    if not once:
        click.echo(f"Reconnaissance du texte démarrée (langues : {settings.languages} ; Ctrl+C pour arrêter).",
                   err=True)
    done = run_ocr_worker_for(current_app._get_current_object(), once=once)  # type: ignore[attr-defined]  # werkzeug's LocalProxy does not show the proxied object's methods
    if once:
        click.echo(f"{done} reconnaissance(s) traitée(s).")


@click.command("ocr")
@click.argument("document_id", type=int, required=False)
@click.option("--force", is_flag=True, help="Relit toutes les pages, même celles qui portent déjà du texte.")
@click.option("--all-missing", is_flag=True,
              help="Met en file tous les PDF et images dont des pages n'ont pas encore de texte (archives anciennes).")
@click.option("--wait", is_flag=True, help="Fait la reconnaissance tout de suite, dans cette commande.")
@with_appcontext
def ocr_cmd(document_id: int | None, force: bool, all_missing: bool, wait: bool) -> None:
    """Met en file la reconnaissance du texte d'un document (ou de tous ceux qui en manquent)."""
    from intranet.extensions import storage

    if (document_id is None) == (not all_missing):
        click.echo("Erreur : donnez un numéro de document ou --all-missing (l'un ou l'autre).", err=True)
        sys.exit(2)
    factory = current_app.extensions["db_factory"]
    session = factory()
    try:
        if document_id is not None:
            doc = session.get(Document, document_id)
            if doc is None or doc.current is None or doc.in_trash:
                click.echo(f"Erreur : document n° {document_id} introuvable (ou dans la corbeille).", err=True)
                sys.exit(2)
            if doc.current.kind not in queue.OCR_KINDS:
                click.echo("Erreur : la reconnaissance du texte ne s'applique qu'aux PDF et aux images.", err=True)
                sys.exit(2)
            queue.enqueue_ocr(session, doc.current, force=force)
            session.commit()
            versions = [doc.current.id]
            click.echo(f"Document n° {document_id} : reconnaissance du texte en attente.")
        else:
            versions = queue.missing_versions(session)
            with click.progressbar(versions, label="Mise en file", file=sys.stderr, show_pos=True) as bar:
                for version_id in bar:
                    from documents.models import DocumentVersion

                    version = session.get(DocumentVersion, version_id)
                    assert version is not None
                    queue.enqueue_ocr(session, version, force=force)
                    session.commit()
            click.echo(f"{len(versions)} version(s) en attente de reconnaissance.")
    finally:
        session.close()
    if wait and versions:
        settings = settings_of(current_app)
        with click.progressbar(length=len(versions), label="Reconnaissance", file=sys.stderr,
                               show_pos=True) as bar:
            while process_one(factory, storage(), settings):
                bar.update(1)
        session = factory()
        try:
            counts = queue.queue_counts(session)
        finally:
            session.close()
        click.echo(f"Terminé : {counts.get('done', 0)} réussie(s), {counts.get('failed', 0)} en échec "
                   f"(toutes reconnaissances confondues).")


#: Click commands added to the ``intranet`` group.
COMMANDS: list[Any] = [ocr_worker_cmd, ocr_cmd]
