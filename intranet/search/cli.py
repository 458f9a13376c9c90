"""``intranet`` commands of the search feature: ``search``, ``reindex`` and ``indexer``."""

from __future__ import annotations

import json
import signal
import sys
import threading
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext

from documents import heartbeat, indexer
from documents.errors import DomainError
from documents.search import BACKENDS, MAX_PER_PAGE, backend_of


def _fail(message: str) -> None:
    click.echo(f"Erreur : {message}", err=True)
    sys.exit(2)


@click.command("search")
@click.argument("query")
@click.option("--json", "as_json", is_flag=True, help="Affiche les résultats en JSON (avec les facettes).")
@click.option("--as", "as_email", default=None,
              help="Cherche avec les droits de ce compte (par défaut : tout l'index, comme un administrateur).")
@click.option("--limit", type=click.IntRange(1, MAX_PER_PAGE), default=20, show_default=True,
              help="Nombre de résultats affichés.")
@click.option("--page", type=click.IntRange(1, 10_000), default=1, show_default=True)
@click.option("--sort", type=click.Choice(["relevance", "date"]), default="relevance", show_default=True)
@with_appcontext
def search_cmd(query: str, as_json: bool, as_email: str | None, limit: int, page: int, sort: str) -> None:
    """Cherche dans l'archive : id, titre, type, région, année, score et extrait de chaque résultat."""
    from intranet.cli import user_by_email
    from intranet.search.views import region_names, results_payload, run_search

    user = user_by_email(as_email) if as_email else None
    try:
        results = run_search(query, user=user, all_regions=user is None, sort=sort, page=page, per_page=limit)
    except DomainError as exc:
        _fail(exc.message)
        return
    payload = results_payload(results, regions=region_names(), with_urls=False)
    if as_json:
        click.echo(json.dumps(payload, ensure_ascii=False, indent=2))
        return
    for notice in results.notices:
        click.echo(f"Note : {notice}")
    if not results.total:
        click.echo(f"Aucun résultat pour « {query} ».")
        if results.suggestion:
            click.echo(f"Essayez plutôt : {results.suggestion}")
        return
    shown = len(payload["items"])
    click.echo(f"{results.total} résultat(s) pour « {query} » (page {results.page}/{results.pages}, {shown} affiché(s)).")
    for item in payload["items"]:
        click.echo("")
        click.echo(f"[{item['entry']}] {item['title']}")
        click.echo(f"    {item['type_label']} · {item['region_label']} · {item['year'] or '—'} · "
                   f"{item['status_label'] or '—'} · score {item['score']:.2f}")
        if item["snippet"]:
            click.echo(f"    {item['snippet']}")


@click.command("reindex")
@click.option("--procs", type=click.IntRange(1, 16), default=2, show_default=True,
              help="Processus d'indexation en parallèle.")
@click.option("--backend", type=click.Choice(BACKENDS), default=None,
              help="Moteur du nouvel index (par défaut SEARCH_BACKEND) : l'index est construit à côté de "
                   "l'ancien, qui reste en service jusqu'à la bascule.")
@with_appcontext
def reindex_cmd(procs: int, backend: str | None) -> None:
    """Reconstruit tout l'index dans un nouveau dossier, puis le met en service d'un coup (atomique)."""
    factory = current_app.extensions["db_factory"]
    root = current_app.config["INDEX_DIR"]
    session = factory()
    try:
        total = indexer.count_indexable(session)
    finally:
        session.close()
    try:
        with click.progressbar(length=total, label="Réindexation", file=sys.stderr, show_pos=True) as bar:
            done = [0]

            def progress(count: int) -> None:
                bar.update(count - done[0])
                done[0] = count

            report = indexer.reindex_all(factory, root, procs=procs, progress=progress, backend=backend)
    except DomainError as exc:
        _fail(exc.message)
        return
    from intranet.search.views import reset_index

    reset_index()
    rate = report.count / report.seconds if report.seconds else 0.0
    click.echo(f"Index reconstruit : {report.count} élément(s) en {report.seconds:.1f} s ({rate:.0f}/s), "
               f"{report.replayed.rows} modification(s) arrivée(s) entre-temps rejouée(s) ; "
               f"moteur : {backend_of(root)}.")


@click.command("indexer")
@click.option("--once", is_flag=True, help="Applique les modifications en attente puis s'arrête.")
@click.option("--interval", type=click.FloatRange(0.1, 60), default=1.0, show_default=True,
              help="Secondes entre deux passages.")
@click.option("--procs", type=click.IntRange(1, 16), default=2, show_default=True,
              help="Processus pour une reconstruction complète (index absent ou corrompu).")
@with_appcontext
def indexer_cmd(once: bool, interval: float, procs: int) -> None:
    """L'indexeur unique : applique la file des modifications à l'index de recherche (à lancer une seule fois)."""
    run_indexer_for(current_app, once=once, interval=interval, procs=procs, announce=True)


def run_indexer_for(app: Any, *, once: bool = False, interval: float = 1.0, procs: int = 2,
                    announce: bool = False) -> None:
    """Run the indexer loop on ``app``'s database and index folder until SIGTERM/SIGINT (or once)."""
    stop = threading.Event()
    if not once and threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            # Finish the current batch, then stop: nothing is half-applied either way.
            signal.signal(sig, lambda *_: stop.set())
    factory = app.extensions["db_factory"]
    root = app.config["INDEX_DIR"]
    if announce and not once:
        click.echo(f"Indexeur démarré sur {root} (Ctrl+C pour arrêter).", err=True)
    try:
        # A loop records its heartbeat for /sante and the search page; a single pass does not run.
        beat = None if once else heartbeat.Beater(app.config["DATA_DIR"], "indexer")
        report = indexer.run_indexer(factory, root, interval=interval, once=once, stop=stop, procs=procs,
                                     heartbeat=beat)
    except DomainError as exc:
        _fail(exc.message)
        return
    if once:
        session = factory()
        try:
            left = indexer.pending_count(session)
        finally:
            session.close()
        click.echo(f"{report.rows} modification(s) appliquée(s) ({report.upserts} ajout(s) ou mise(s) à jour, "
                   f"{report.deletes} suppression(s)) ; {left} en attente.")
        if report.failed:
            sys.exit(1)


#: Click commands added to the ``intranet`` group.
COMMANDS: list[Any] = [search_cmd, reindex_cmd, indexer_cmd]
