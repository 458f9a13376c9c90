"""``intranet thumbnail-worker`` and ``intranet thumbnails``: the thumbnail queue's worker and backfill."""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext

from documents import heartbeat
from documents.thumbnails import queue
from documents.thumbnails.render import RenderSettings
from documents.thumbnails.worker import ThumbnailSettings, process_one, run_thumbnail_worker
from documents.unitofwork import unit_of_work


def settings_from(env: Mapping[str, str]) -> ThumbnailSettings:
    """Bounds from ``INTRANET_THUMBNAIL_TIMEOUT`` (s per step) and ``INTRANET_THUMBNAIL_MEMORY_MB``."""
    def number(name: str, default: float) -> float:
        raw = (env.get(name) or "").strip()
        try:
            value = float(raw) if raw else default
        except ValueError:
            raise click.UsageError(f"{name} doit être un nombre (reçu : {raw!r}).") from None
        if not 0 < value < 100_000:
            raise click.UsageError(f"{name} doit être positif et raisonnable (reçu : {raw!r}).")
        return value

    return ThumbnailSettings(render=RenderSettings(
        timeout=number("INTRANET_THUMBNAIL_TIMEOUT", 90.0),
        memory_mb=int(number("INTRANET_THUMBNAIL_MEMORY_MB", 768))))


def _folder(app: Any) -> Path:
    return Path(app.config["DATA_DIR"]) / "thumbnails"


def _beat_while(beat: heartbeat.Beater, stop: threading.Event) -> None:
    # A conversion may take a minute: the process beats from its own thread.
    def loop() -> None:
        while not stop.is_set():
            beat()
            stop.wait(beat.every)

    threading.Thread(target=loop, name="thumbnail-heartbeat", daemon=True).start()


@click.command("thumbnail-worker")
@click.option("--once", is_flag=True, help="Dessine les vignettes en attente puis s'arrête.")
@with_appcontext
def thumbnail_worker_cmd(once: bool) -> None:
    """Le dessinateur de vignettes : dessine la première page des documents en file jusqu'à SIGTERM."""
    from intranet.extensions import storage

    app = current_app._get_current_object()  # type: ignore[attr-defined]  # werkzeug's LocalProxy does not show the proxied object's methods
    stop = threading.Event()
    if not once:
        for sig in (signal.SIGTERM, signal.SIGINT):
            # Finish the current drawing, then stop; one cut short by kill -9 is claimed again later.
            signal.signal(sig, lambda *_: stop.set())
        _beat_while(heartbeat.Beater(app.config["DATA_DIR"], "thumbnails"), stop)
        click.echo("Dessin des vignettes démarré (Ctrl+C pour arrêter).", err=True)
    try:
        done = run_thumbnail_worker(app.extensions["db_factory"], storage(), _folder(app),
                                    settings_from(os.environ), stop=stop, once=once)
    finally:
        stop.set()
    if once:
        click.echo(f"{done} vignette(s) traitée(s).")


@click.command("thumbnails")
@click.option("--all", "redo_all", is_flag=True,
              help="Redessine toutes les vignettes (et réessaie celles qui ont échoué), pas seulement les manquantes.")
@click.option("--wait", is_flag=True, help="Dessine tout de suite, dans cette commande, au lieu du processus de fond.")
@with_appcontext
def thumbnails_cmd(redo_all: bool, wait: bool) -> None:
    """Met en file les vignettes manquantes des documents (rattrapage des archives existantes)."""
    from intranet.extensions import storage

    app = current_app._get_current_object()  # type: ignore[attr-defined]  # werkzeug's LocalProxy does not show the proxied object's methods
    factory = app.extensions["db_factory"]
    folder = _folder(app)
    requeued = 0
    if redo_all:
        with unit_of_work(factory) as session:
            requeued = queue.requeue_all(session)
        # Drawn again from scratch: the cached images of requeued files are removed first.
        if folder.is_dir():
            for path in folder.glob("??/*.png"):
                path.unlink(missing_ok=True)
    added = 0
    while True:
        with unit_of_work(factory) as session:
            batch = queue.sweep(session)
        added += batch
        if batch < queue.SWEEP_BATCH:
            break
    click.echo(f"{added} vignette(s) mise(s) en file" + (f", {requeued} à redessiner" if redo_all else "") + ".")
    if wait:
        settings = settings_from(os.environ)
        count = 0
        while process_one(factory, storage(), folder, settings):
            count += 1
        with unit_of_work(factory) as session:
            counts = queue.counts(session)
        click.echo(f"{count} vignette(s) traitée(s) ; {counts.done} prête(s), {counts.failed} en échec.")
        if counts.failed:
            sys.exit(1)


COMMANDS: list[Any] = [thumbnail_worker_cmd, thumbnails_cmd]
