"""``intranet`` commands of the library feature: ``import`` a shared folder, ``check`` the archive."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from click._termui_impl import ProgressBar
from flask import current_app
from flask.cli import with_appcontext

from documents import consistency, extraction, intake
from documents.bounds import MAX_ID
from documents.errors import DomainError


def _session() -> Any:
    from intranet.extensions import db

    return db.session


def _fail(message: str) -> None:
    click.echo(f"Erreur : {message}", err=True)
    sys.exit(2)


@click.command("import")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--manifest", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="CSV (path, titre, type, region, annee, statut, date_signature, …) ; ses valeurs priment.")
@click.option("--region", "region", default=None, help="Région par défaut : code, nom ou « national ».")
@click.option("--type", "doc_type", default=None, help="Type par défaut (convention, avenant, bilan…).")
@click.option("--as", "as_email", default=None, help="Compte qui importe (par défaut : le premier administrateur).")
@click.option("--json", "as_json", is_flag=True, help="Affiche le bilan en JSON (sans barre de progression).")
@with_appcontext
def import_cmd(folder: Path, manifest: Path | None, region: str | None, doc_type: str | None,
               as_email: str | None, as_json: bool) -> None:
    """Importe un dossier partagé (récursivement). Relancer reprend là où l'import s'était arrêté.

    Les fichiers déjà archivés (même contenu) sont comptés comme doublons. Code de sortie 1
    si des fichiers ont été refusés.
    """
    from intranet.cli import user_by_email
    from intranet.extensions import storage

    session = _session()
    actor = user_by_email(as_email) if as_email else intake.default_actor(session)
    if actor is None:
        _fail("aucun administrateur actif : précisez le compte avec --as EMAIL.")
    files = intake.collect_files(folder)
    # The import's own pool of bounded extraction workers, stopped when the import ends.
    pool = extraction.ExtractionPool(current_app.config["EXTRACTION_SETTINGS"])
    try:
        if as_json:
            report = intake.import_folder(session, storage(), folder, actor=actor, manifest=manifest,
                                          region=region, doc_type=doc_type, files=files, checkpoint=session.commit,
                                          pool=pool)
        else:
            progress: ProgressBar[Any] = click.progressbar(
                length=len(files), label="Import", file=sys.stderr,
                item_show_func=lambda o: o.path[-40:] if o else None)
            with progress as bar:
                report = intake.import_folder(
                    session, storage(), folder, actor=actor, manifest=manifest, region=region,
                    doc_type=doc_type, files=files, progress=lambda outcome: bar.update(1, outcome),
                    # Each file is committed on its own: a killed import resumes where it stopped.
                    checkpoint=session.commit, pool=pool)
    except DomainError as exc:
        session.rollback()
        _fail(exc.message)
        return
    finally:
        pool.close()
    session.commit()
    if as_json:
        click.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
    else:
        _print_import(report)
    sys.exit(1 if report.counts["rejected"] else 0)


def _print_import(report: intake.ImportReport) -> None:
    counts = report.counts
    click.echo(f"Import terminé : {counts['imported']} importé(s), {counts['duplicate']} doublon(s), "
               f"{counts['rejected']} refusé(s), {counts['ignored']} ignoré(s)"
               + (f" ; {report.ocr_queued} en attente de reconnaissance du texte." if report.ocr_queued else "."))
    if report.of("rejected"):
        click.echo("Refusés :")
        for o in report.of("rejected"):
            click.echo(f"  - {o.path} : {o.reason}")
    if report.of("duplicate"):
        click.echo("Doublons (déjà archivés) :")
        for o in report.of("duplicate"):
            click.echo(f"  - {o.path} → document {o.document_id}")


_STAT_LABELS = {"versions": "version(s)", "files": "fichier(s) stocké(s)"}


@click.command("check")
@click.option("--repair", is_flag=True,
              help="Répare : fichiers orphelins vers lost+found, fiches vides sans fichier supprimées, "
                   "fichiers temporaires anciens effacés.")
@click.option("--json", "as_json", is_flag=True, help="Affiche le rapport en JSON.")
@click.option("--skip-hash", is_flag=True, help="Ne relit pas chaque fichier pour vérifier son empreinte.")
@click.option("--grace-minutes", type=click.IntRange(min=0), default=consistency.DEFAULT_GRACE_S // 60,
              show_default=True, help="Âge en deçà duquel un fichier peut appartenir à un envoi en cours.")
@with_appcontext
def check_cmd(repair: bool, as_json: bool, skip_hash: bool, grace_minutes: int) -> None:
    """Compare la base et les fichiers. Code de sortie 1 s'il reste des problèmes."""
    from intranet.extensions import storage

    session = _session()
    report = consistency.run_checks(
        session, storage(), data_dir=Path(current_app.config["DATA_DIR"]), repair=repair,
        verify_hashes=not skip_hash, grace_s=grace_minutes * 60, index_dir=Path(current_app.config["INDEX_DIR"]),
        checkpoint=session.commit,
    )
    session.commit()
    if as_json:
        click.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
    else:
        stats = ", ".join(f"{v} {_STAT_LABELS.get(k, k)}" for k, v in report.stats.items())
        click.echo(f"Vérifié : {stats}." if stats else "Vérifié.")
        for problem in report.problems:
            mark = "✓" if problem.repaired else "✗"
            click.echo(f"{mark} {problem.message}" + (f" → {problem.action}" if problem.action else ""))
        if report.ok:
            click.echo("Aucun problème." if not report.problems else "Tout est réparé.")
        else:
            click.echo(f"{len(report.remaining)} problème(s) restant(s)."
                       + ("" if repair else " Relancez avec --repair pour réparer ce qui peut l'être."))
    sys.exit(0 if report.ok else 1)


def _actor(as_email: str | None) -> Any:
    """The account named by ``--as``, or the first active administrator."""
    from intranet.cli import user_by_email

    actor = user_by_email(as_email) if as_email else intake.default_actor(_session())
    if actor is None:
        _fail("aucun administrateur actif : précisez le compte avec --as EMAIL.")
    return actor


def _run(verb: Any) -> None:
    """Run a verb, commit; a refusal (locked record, rights…) is a French message and exit code 2."""
    session = _session()
    try:
        verb(session)
        session.commit()
    except DomainError as exc:
        session.rollback()
        _fail(exc.message)


FC = TypeVar("FC", bound=Callable[..., Any])

_AS: Callable[[FC], FC] = click.option("--as", "as_email", default=None,
                                       help="Compte qui agit (par défaut : le premier administrateur).")


@click.command("unlock")
@click.argument("document_id", type=click.IntRange(min=1, max=MAX_ID))
@click.option("--reason", required=True, help="Motif écrit du déverrouillage (conservé dans le journal).")
@_AS
@with_appcontext
def unlock_cmd(document_id: int, reason: str, as_email: str | None) -> None:
    """Déverrouille un document verrouillé (convention signée, compte rendu approuvé…), avec un motif."""
    from documents import archive, locking

    actor = _actor(as_email)
    _run(lambda s: locking.unlock_document(s, archive.get_document(s, actor, document_id), actor=actor,
                                           reason=reason, ip="cli"))
    click.echo(f"Document {document_id} déverrouillé. Pensez à le reverrouiller : intranet lock {document_id}")


@click.command("lock")
@click.argument("document_id", type=click.IntRange(min=1, max=MAX_ID))
@_AS
@with_appcontext
def lock_cmd(document_id: int, as_email: str | None) -> None:
    """Reverrouille un document qu'un administrateur avait déverrouillé."""
    from documents import archive, locking

    actor = _actor(as_email)
    _run(lambda s: locking.lock_document(s, archive.get_document(s, actor, document_id), actor=actor, ip="cli"))
    click.echo(f"Document {document_id} reverrouillé.")


@click.command("trash")
@click.argument("document_id", type=click.IntRange(min=1, max=MAX_ID))
@_AS
@with_appcontext
def trash_cmd(document_id: int, as_email: str | None) -> None:
    """Met un document à la corbeille (refusé s'il est verrouillé ou source d'un modèle)."""
    from documents import archive

    actor = _actor(as_email)
    _run(lambda s: archive.trash_document(s, archive.get_document(s, actor, document_id), actor=actor, ip="cli"))
    click.echo(f"Document {document_id} mis à la corbeille.")


@click.command("restore")
@click.argument("document_id", type=click.IntRange(min=1, max=MAX_ID))
@_AS
@with_appcontext
def restore_cmd(document_id: int, as_email: str | None) -> None:
    """Restaure un document de la corbeille (l'équipe de sa région, ou l'équipe nationale)."""
    from documents import archive, permissions
    from documents.errors import NotFound
    from documents.models import Document

    actor = _actor(as_email)

    def restore(session: Any) -> None:
        doc = session.get(Document, document_id)
        # Same answer for a missing document and another region's: nothing tells that it exists.
        if doc is None or not doc.in_trash or not permissions.can_read_region(actor, doc.region_code):
            raise NotFound(f"Aucun document n° {document_id} dans la corbeille.")
        archive.restore_document(session, doc, actor=actor, ip="cli")

    _run(restore)
    click.echo(f"Document {document_id} restauré.")


#: Click commands added to the ``intranet`` group.
COMMANDS: list[Any] = [import_cmd, check_cmd, unlock_cmd, lock_cmd, trash_cmd, restore_cmd]

from intranet.library.deadline_cli import deadline_handle_cmd, deadlines_cmd  # noqa: E402

COMMANDS += [deadlines_cmd, deadline_handle_cmd]
