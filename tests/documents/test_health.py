"""Heartbeats and the system status figures (``documents.heartbeat``, ``documents.health``)."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path
from typing import Any

from sqlalchemy import delete

from documents import health, heartbeat
from documents.indexer import MAX_ATTEMPTS, REINDEX_MARKER
from documents.models import IndexOutbox

NOW = dt.datetime(2026, 12, 1, 22, 0, tzinfo=dt.UTC)


def test_a_beat_is_read_back_with_its_pid_state_and_age(tmp_path: Path) -> None:
    started = NOW - dt.timedelta(hours=1)
    heartbeat.beat(tmp_path, "indexer", state=heartbeat.REBUILDING, started_at=started, now=NOW)
    beat = heartbeat.read(tmp_path, "indexer")
    assert beat is not None
    assert (beat.pid, beat.state, beat.at, beat.started_at) == (os.getpid(), "rebuilding", NOW, started)
    assert beat.age(NOW + dt.timedelta(seconds=42)) == 42
    assert beat.is_fresh(NOW + dt.timedelta(seconds=29)) and not beat.is_fresh(NOW + dt.timedelta(seconds=30))
    assert [p.name for p in (tmp_path / heartbeat.FOLDER).iterdir()] == ["indexer.json"]  # no temp file left


def test_missing_or_garbled_heartbeats_read_as_none(tmp_path: Path) -> None:
    assert heartbeat.read(tmp_path, "indexer") is None
    path = heartbeat.path_for(tmp_path, "indexer")
    path.parent.mkdir(parents=True)
    path.write_text('{"pid": "x"', encoding="utf-8")
    assert heartbeat.read(tmp_path, "indexer") is None


def test_beater_writes_on_state_change_and_otherwise_at_most_every_period(tmp_path: Path) -> None:
    beater = heartbeat.Beater(tmp_path, "indexer", every=3600)
    beater()
    first = heartbeat.read(tmp_path, "indexer")
    beater()  # same state, within the period: nothing written
    assert heartbeat.read(tmp_path, "indexer") == first
    beater(heartbeat.REBUILDING)
    second = heartbeat.read(tmp_path, "indexer")
    assert second is not None and first is not None
    assert second.state == "rebuilding" and second.at >= first.at and second.started_at == first.started_at


def test_indexer_status_is_alive_only_with_a_fresh_heartbeat(tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    never = health.indexer_status(tmp_path, index_dir, now=NOW)
    assert not never.alive and never.pid is None and never.heartbeat_age is None
    assert health.indexer_down_message(never).startswith("L'indexeur de recherche ne tourne pas (aucun signe de vie)")

    heartbeat.beat(tmp_path, "indexer", now=NOW - dt.timedelta(seconds=125))
    stale = health.indexer_status(tmp_path, index_dir, now=NOW)
    assert not stale.alive and stale.heartbeat_age == 125 and stale.pid == os.getpid()
    assert health.indexer_down_message(stale).startswith("L'indexeur ne tourne pas depuis 2 min :")

    fresh = health.indexer_status(tmp_path, index_dir, now=NOW - dt.timedelta(seconds=120))
    assert fresh.alive and fresh.heartbeat_age == 5 and not fresh.rebuilding


def test_rebuilding_is_said_only_while_a_live_indexer_rebuilds(tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    index_dir.mkdir()
    (index_dir / REINDEX_MARKER).write_text("1")
    waiting = health.indexer_status(tmp_path, index_dir, now=NOW)
    assert waiting.rebuild_pending and not waiting.rebuilding  # nothing runs: no « reconstruction »
    heartbeat.beat(tmp_path, "indexer", state=heartbeat.REBUILDING, now=NOW)
    assert health.indexer_status(tmp_path, index_dir, now=NOW + dt.timedelta(seconds=10)).rebuilding
    assert not health.indexer_status(tmp_path, index_dir, now=NOW + dt.timedelta(seconds=31)).rebuilding


def test_synchronous_indexing_needs_no_worker(tmp_path: Path) -> None:
    status = health.indexer_status(tmp_path, tmp_path / "index", synchronous=True, now=NOW)
    assert status.alive and status.mode == "synchronous"


def test_outbox_depth_failures_and_oldest_pending_age(db_session: Any) -> None:
    db_session.execute(delete(IndexOutbox))
    db_session.add_all([
        IndexOutbox(object_type="document", object_id=1, action="upsert", attempts=0,
                    created_at=NOW - dt.timedelta(seconds=90)),
        IndexOutbox(object_type="document", object_id=2, action="delete", attempts=MAX_ATTEMPTS - 1,
                    created_at=NOW - dt.timedelta(seconds=30)),
        IndexOutbox(object_type="document", object_id=3, action="upsert", attempts=MAX_ATTEMPTS,
                    created_at=NOW - dt.timedelta(days=3)),
    ])
    db_session.flush()
    status = health.outbox_status(db_session, now=NOW)
    assert (status.pending, status.failed) == (2, 1)
    assert status.oldest_pending_at == NOW - dt.timedelta(seconds=90) and status.oldest_pending_age == 90

    db_session.execute(delete(IndexOutbox))
    empty = health.outbox_status(db_session, now=NOW)
    assert (empty.pending, empty.failed, empty.oldest_pending_at, empty.oldest_pending_age) == (0, 0, None, None)


def test_mail_status_reports_what_exists(tmp_path: Path) -> None:
    assert health.mail_status("smtp", None) == health.MailStatus("smtp", None, None)
    (tmp_path / "a.eml").write_text("x")
    (tmp_path / "b.eml").write_text("x")
    (tmp_path / "notes.txt").write_text("x")
    assert health.mail_status("outbox", tmp_path) == health.MailStatus("outbox", None, 2)
    assert health.mail_status("outbox", tmp_path / "absent").outbox_messages == 0


def test_system_status_json_and_problems(db_session: Any, tmp_path: Path) -> None:
    db_session.execute(delete(IndexOutbox))
    heartbeat.beat(tmp_path, "indexer", now=NOW - dt.timedelta(minutes=10))
    status = health.system_status(db_session, data_dir=tmp_path, index_dir=tmp_path / "index",
                                  mail_backend="smtp", mail_outbox_dir=None, now=NOW)
    data = status.as_json()
    assert data["status"] == "degraded"
    assert data["indexer"]["alive"] is False and data["indexer"]["heartbeat_age"] == 600.0
    assert data["problems"][0].startswith("L'indexeur ne tourne pas depuis 10 min")
    assert data["outbox"] == {"pending": 0, "failed": 0, "oldest_pending_at": None, "oldest_pending_age": None}
    assert data["mail"] == {"backend": "smtp", "queue": 0, "outbox_messages": None, "failed": 0, "dead": 0,
                            "oldest_pending_age": None}
    assert data["disk"]["total_bytes"] == shutil.disk_usage(tmp_path).total
    assert data["checked_at"] == NOW.isoformat()


def test_french_durations_and_sizes() -> None:
    assert [health.format_duration(s) for s in (0, 59, 60, 3599, 3600, 7500, 86400 * 3 + 5)] == [
        "0 s", "59 s", "1 min", "59 min", "1 h 00", "2 h 05", "3 j"]
    assert health.format_bytes(512) == "512\u00a0o"
    assert health.format_bytes(186_700) == "186,7\u00a0ko"
    assert health.format_bytes(12_300_000_000) == "12,3\u00a0Go"
    assert health.format_bytes(5_000_000_000_000) == "5,0\u00a0To"


def test_other_workers_are_reported_from_their_heartbeats(db_session: Any, tmp_path: Path) -> None:
    heartbeat.beat(tmp_path, "indexer", now=NOW)
    heartbeat.beat(tmp_path, "ocr", now=NOW - dt.timedelta(minutes=3))
    status = health.system_status(db_session, data_dir=tmp_path, index_dir=tmp_path / "index",
                                  mail_backend="smtp", mail_outbox_dir=None, workers=["ocr", "courriel"], now=NOW)
    assert status.workers == (health.WorkerStatus("ocr", False, os.getpid(), 180.0),
                              health.WorkerStatus("courriel", False, None, None))
    assert [p for p in status.problems if "processus de fond" in p] == [
        "Le processus de fond « ocr » ne tourne pas depuis 3 min.",
        "Le processus de fond « courriel » ne tourne pas (aucun signe de vie)."]
    assert status.as_json()["workers"][0] == {"name": "ocr", "alive": False, "pid": os.getpid(),
                                              "heartbeat_age": 180.0}
    heartbeat.beat(tmp_path, "ocr", now=NOW)
    fresh = health.system_status(db_session, data_dir=tmp_path, index_dir=tmp_path / "index",
                                 mail_backend="smtp", mail_outbox_dir=None, workers=["ocr"], now=NOW)
    assert fresh.workers[0].alive and not any("processus de fond" in p for p in fresh.problems)
