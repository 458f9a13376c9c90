"""The background workers that ``python -m intranet.serve`` (``make run``) runs beside gunicorn.

Each worker is one declaration: a name and the ``intranet`` command it runs. The supervisor
(``intranet.supervisor``) starts each one as its own process (``python -m intranet <command>``,
not a daemonic multiprocessing child, so that it may fork children of its own, as Whoosh's
multiprocess writer does), restarts it with a back-off when it dies and stops it with the server.

In production without ``intranet.serve`` (systemd, for instance) run the same commands as
services, with the same environment as the web service.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass


@dataclass(frozen=True)
class BackgroundWorker:
    """A long-running process started beside the web workers."""

    name: str
    #: Arguments of the ``intranet`` command line, e.g. ``("indexer",)``.
    command: tuple[str, ...]
    #: One French line for the « État du système » page and the logs.
    description: str
    #: True when the worker records ``documents.heartbeat`` under ``name`` (``heartbeat.Beater``):
    #: ``/sante`` and « État du système » then say whether it runs.
    heartbeat: bool = False

    def argv(self) -> list[str]:
        """The command line that runs this worker with the current interpreter."""
        return [sys.executable, "-m", "intranet", *self.command]


#: Every background worker of the intranet, in start order. Add a worker here, nowhere else.
WORKERS: tuple[BackgroundWorker, ...] = (
    BackgroundWorker(
        name="indexer",
        command=("indexer",),
        description="Indexeur de recherche : applique à l'index les modifications de l'archive.",
        heartbeat=True,  # reported in detail as « indexer » (documents.health.IndexerStatus)
    ),
    BackgroundWorker(
        name="ocr",
        command=("ocr-worker",),
        description="Lecteur OCR : reconnaît le texte des documents scannés (file de reconnaissance).",
        heartbeat=True,
    ),
    BackgroundWorker(
        name="mail-worker",
        command=("mail-worker",),
        description="Envoi des courriels : vide la file d'envoi, avec nouveaux essais espacés.",
        heartbeat=True,
    ),
    BackgroundWorker(
        name="scheduler",
        command=("scheduler",),
        description=("Planificateur : tâches quotidiennes (alertes d'échéances, relances de signature ; "
                     "rattrapées après un arrêt)."),
        heartbeat=True,
    ),
    BackgroundWorker(
        name="thumbnails",
        command=("thumbnail-worker",),
        description="Vignettes : dessine la première page des documents (PDF, Word, ODT, scans).",
        heartbeat=True,
    ),
)
