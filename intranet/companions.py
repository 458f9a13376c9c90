"""Background processes started beside the web workers by ``make run``.

Each feature that needs one appends to ``intranet.serve.COMPANIONS`` here.

- ``indexer``: the single search indexer (``documents.indexer.run_indexer``). It applies the
  index outbox written by every web worker, so that only one process ever writes the
  Whoosh index. In production run it once per data folder beside gunicorn, e.g. as a
  systemd service ``intranet indexer`` (same environment as the web service); a second
  copy exits at once (lock file ``<INDEX_DIR>/indexer.lock``).
"""

from __future__ import annotations

from intranet.serve import COMPANIONS


def run_search_indexer() -> None:
    """Entry point of the indexer process: the app's settings, then the loop until SIGTERM."""
    from intranet import create_app
    from intranet.search.cli import run_indexer_for

    app = create_app()
    with app.app_context():
        run_indexer_for(app)


if ("indexer", run_search_indexer) not in COMPANIONS:
    COMPANIONS.append(("indexer", run_search_indexer))
