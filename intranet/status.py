"""The system status of this deployment (``documents.health``) read with the app's settings."""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app

from documents import health, heartbeat
from documents.mail import MailError, OutboxMailer, mailer_from_config
from intranet.background import WORKERS


def current_status(session: Any, app: Flask | None = None) -> health.SystemStatus:
    """Indexer heartbeat, index outbox, mail and disk, read now for ``app``."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]  # werkzeug's LocalProxy does not show the proxied object's methods
    config = app.config
    try:
        mailer = mailer_from_config(config)
        outbox_dir = mailer.folder if isinstance(mailer, OutboxMailer) else None
        backend = "outbox" if outbox_dir is not None else "smtp"
    except MailError:
        backend, outbox_dir = "invalide", None
    return health.system_status(
        session, data_dir=config["DATA_DIR"], index_dir=config["INDEX_DIR"],
        mail_backend=backend, mail_outbox_dir=outbox_dir,
        synchronous_index=bool(config.get("SEARCH_SYNC")),
        stale_after=float(config.get("INDEXER_STALE_AFTER") or heartbeat.DEFAULT_STALE_AFTER),
        # The indexer has its own, detailed entry; other workers that beat are listed by name.
        workers=[w.name for w in WORKERS if w.heartbeat and w.name != "indexer"],
    )
