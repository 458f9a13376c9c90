"""``/sante``, the « État du système » page and the search banner, read from real heartbeats and rows."""

from __future__ import annotations

import datetime as dt
import html
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete

from documents import health, heartbeat
from documents.models import IndexOutbox
from testkit import login_client, make_app


def _ago(**delta: float) -> dt.datetime:
    # Read the clock at each use: a module-level « now » goes stale when earlier tests run long.
    return dt.datetime.now(dt.UTC) - dt.timedelta(**delta)


@pytest.fixture
def worker_app(database_url: str, data_dir: Path) -> Iterator[Any]:
    """The app as deployed: indexing left to a separate indexer process (no SEARCH_SYNC)."""
    app = make_app(database_url, data_dir)
    yield app
    app.extensions["db_engine"].dispose()


def _sante(app: Any) -> dict[str, Any]:
    response = app.test_client().get("/sante")
    assert response.status_code == 200 and response.is_json
    return response.get_json()


def _page(client: Any, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200
    return html.unescape(response.get_data(as_text=True))


def test_sante_without_an_indexer_says_so(worker_app: Any) -> None:
    data = _sante(worker_app)
    assert data["status"] == "degraded"
    assert data["indexer"] == {
        "mode": "worker", "alive": False, "pid": None, "state": None, "heartbeat_at": None,
        "heartbeat_age": None, "started_at": None, "rebuild_pending": False, "rebuilding": False}
    assert any("ne tourne pas" in p for p in data["problems"])


def test_sante_reports_heartbeat_outbox_mail_and_disk(worker_app: Any, data_dir: Path) -> None:
    heartbeat.beat(data_dir, "indexer")
    heartbeat.beat(data_dir, "ocr")
    heartbeat.beat(data_dir, "mail-worker")
    heartbeat.beat(data_dir, "scheduler")
    heartbeat.beat(data_dir, "thumbnails")
    session = worker_app.extensions["db_factory"]()
    session.execute(delete(IndexOutbox))
    session.add(IndexOutbox(object_type="document", object_id=7, action="upsert",
                            created_at=_ago(minutes=5)))
    session.commit()
    session.close()
    (data_dir / "mail" / "20261201T220000Z-0.eml").write_text("x")

    data = _sante(worker_app)
    low_disk = shutil.disk_usage(data_dir).free < health.LOW_DISK_BYTES
    assert data["status"] == ("degraded" if low_disk else "ok")
    assert data["indexer"]["alive"] is True and data["indexer"]["state"] == "running"
    assert 0 <= data["indexer"]["heartbeat_age"] < heartbeat.DEFAULT_STALE_AFTER
    assert data["outbox"]["pending"] == 1 and data["outbox"]["failed"] == 0
    assert 300 <= data["outbox"]["oldest_pending_age"] < 330
    assert data["mail"] == {"backend": "outbox", "queue": 0, "outbox_messages": 1, "failed": 0, "dead": 0,
                            "oldest_pending_age": None}
    assert data["disk"]["free_bytes"] > 0 and data["disk"]["low"] is low_disk
    # The indexer has its own entry; the OCR, mail and thumbnail workers and the scheduler are listed by name.
    assert [(w["name"], w["alive"]) for w in data["workers"]] == [("ocr", True), ("mail-worker", True),
                                                                  ("scheduler", True), ("thumbnails", True)]


def test_sante_with_a_stale_heartbeat(worker_app: Any, data_dir: Path) -> None:
    heartbeat.beat(data_dir, "indexer", now=_ago(seconds=180))
    data = _sante(worker_app)
    assert data["status"] == "degraded" and data["indexer"]["alive"] is False
    assert 180 <= data["indexer"]["heartbeat_age"] < 210
    assert data["problems"][0].startswith("L'indexeur ne tourne pas depuis 3 min")


def test_search_banner_tells_what_is_true(worker_app: Any, data_dir: Path) -> None:
    client = login_client(worker_app, "national")
    page = _page(client, "/recherche/")
    assert "L'indexeur de recherche ne tourne pas (aucun signe de vie)" in page
    assert "reconstruction" not in page

    heartbeat.beat(data_dir, "indexer", state=heartbeat.REBUILDING, now=_ago(minutes=2))
    page = _page(client, "/recherche/")
    assert "L'indexeur ne tourne pas depuis 2 min" in page and "reconstruction" not in page

    heartbeat.beat(data_dir, "indexer", state=heartbeat.REBUILDING)
    page = _page(client, "/recherche/")
    assert "L'index de recherche est en cours de reconstruction" in page and "ne tourne pas" not in page

    heartbeat.beat(data_dir, "indexer")
    page = _page(client, "/recherche/")
    assert "search-notice" not in page


def test_system_page_for_administrators_only(worker_app: Any, data_dir: Path) -> None:
    heartbeat.beat(data_dir, "indexer", now=_ago(minutes=4))
    admin = login_client(worker_app, "admin")
    page = _page(admin, "/admin/systeme")
    assert "<h1>État du système</h1>" in page
    assert "Arrêté depuis 4 min." in page and "L'indexeur ne tourne pas depuis 4 min" in page
    assert 'href="/admin/systeme" aria-current="page">État du système</a>' in page
    assert "intranet indexer" in page
    assert "<td>indexer</td>" in page and "Arrêté</td>" in page.replace("\n", "").replace("  ", "")
    assert 'href="/admin/systeme"' in _page(admin, "/admin/utilisateurs")
    assert login_client(worker_app, "national").get("/admin/systeme").status_code == 403


def test_system_page_when_all_runs(worker_app: Any, data_dir: Path) -> None:
    heartbeat.beat(data_dir, "indexer")
    heartbeat.beat(data_dir, "ocr")
    heartbeat.beat(data_dir, "mail-worker")
    heartbeat.beat(data_dir, "scheduler")
    heartbeat.beat(data_dir, "thumbnails")
    page = _page(login_client(worker_app, "admin"), "/admin/systeme")
    assert "En marche." in page
    assert ("Tout fonctionne" in page) is (shutil.disk_usage(data_dir).free >= health.LOW_DISK_BYTES)


def test_sante_reports_the_mail_outbox_depth_and_oldest_waiting(worker_app: Any, data_dir: Path) -> None:
    from documents import mailqueue
    from documents.mail import Message
    from documents.models import MailOutbox

    heartbeat.beat(data_dir, "indexer")
    heartbeat.beat(data_dir, "ocr")
    heartbeat.beat(data_dir, "mail-worker")
    heartbeat.beat(data_dir, "scheduler")
    heartbeat.beat(data_dir, "thumbnails")
    session = worker_app.extensions["db_factory"]()
    old = mailqueue.enqueue(session, Message(to=["a@b.fr"], subject="Ancien", body="x"))
    old.created_at = _ago(minutes=7)
    mailqueue.enqueue(session, Message(to=["a@b.fr"], subject="Récent", body="x"))
    session.add(MailOutbox(recipients=["a@b.fr"], subject="Abandonné", body="x", attachments=[], origin="",
                           state="dead", attempts=8, last_error="refusé"))
    session.commit()
    session.close()
    data = _sante(worker_app)
    assert data["mail"]["queue"] == 2 and data["mail"]["dead"] == 1
    assert 420 <= data["mail"]["oldest_pending_age"] < 450
    assert data["status"] == "degraded"
    assert any("1 courriel(s) abandonné(s)" in p for p in data["problems"])
