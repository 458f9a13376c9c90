"""``intranet scheduler`` started as ``make run`` starts it: the real process queues the day's deadline alerts.

The day is fixed with ``INTRANET_TODAY`` and the hour set to 0, so the job is due as soon as the
process starts; a second process (a restart) the same day queues nothing more.
"""

from __future__ import annotations

import datetime as dt
import json
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from documents.db import make_engine, make_session_factory
from documents.models import DeadlineAlert, Document, MailOutbox
from intranet.background import WORKERS
from testkit import LIVE_BACKENDS, ROOT, intranet_argv, make_run_env

pytestmark = pytest.mark.slow


@pytest.fixture(params=LIVE_BACKENDS)
def env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    """The environment of ``make run`` on a fresh data folder and database, bootstrapped."""
    with make_run_env(request.param, tmp_path) as env:
        env["INTRANET_BASE_URL"] = "https://intranet.example"
        yield env


def _run_until(env: dict[str, str], log: Path, done: str) -> tuple[int, str]:
    """Start the scheduler as ``intranet.serve`` does, wait for ``done`` in its log, stop it with SIGTERM."""
    [worker] = [w for w in WORKERS if w.name == "scheduler"]
    with log.open("w") as log_file:
        process = subprocess.Popen(intranet_argv(*worker.command), env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                                   stderr=log_file)
        try:
            deadline = time.monotonic() + 60
            while done not in log.read_text() and time.monotonic() < deadline:
                assert process.poll() is None, log.read_text()
                time.sleep(0.1)
            assert done in log.read_text(), log.read_text()
            beat = json.loads((Path(env["INTRANET_DATA_DIR"]) / "heartbeats" / "scheduler.json").read_text())
            assert beat["pid"] == process.pid and beat["state"] == "running"
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                code = process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                raise
    return code, log.read_text()


def test_the_scheduler_process_queues_the_alerts_of_the_day(env: dict[str, str], tmp_path: Path) -> None:
    done = subprocess.run(intranet_argv("bootstrap"), env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    engine = make_engine(env["DATABASE_URL"])
    session = make_session_factory(engine)()
    try:
        doc = Document(title="Convention nationale", doc_type="convention", region_code=None, year=2026,
                       status="signe", keywords="", notes="", end_date=dt.date(2027, 1, 15))
        session.add(doc)
        session.commit()
        env.update(INTRANET_TODAY="2027-01-10", INTRANET_ALERT_HOUR="0")

        code, log = _run_until(env, tmp_path / "scheduler.log", "deadlines-notify (2027-01-10)")
        assert code == 0, log
        assert "1 courriel(s) mis en file (1 alerte(s)) pour 1 compte(s)" in log  # the bootstrap administrator
        session.rollback()
        [row] = session.scalars(select(MailOutbox)).all()
        assert row.recipients == ["admin@passeurs.local"] and row.origin == "deadlines:2027-01-10"
        assert "Dans 7 jours (1)" in row.body and f"https://intranet.example/documents/{doc.id}" in row.body
        assert session.scalar(select(DeadlineAlert.outbox_id)) == row.id

        # A restart the same day runs the job again (caught up) and sends nothing twice.
        code, log = _run_until(env, tmp_path / "scheduler-2.log", "deadlines-notify (2027-01-10)")
        assert code == 0 and "0 courriel(s) mis en file" in log, log
        session.rollback()
        assert session.scalar(select(func.count()).select_from(MailOutbox)) == 1
        assert "Traceback" not in log
    finally:
        session.close()
        engine.dispose()


def test_a_bad_setting_stops_the_scheduler_with_a_french_message(env: dict[str, str]) -> None:
    env["INTRANET_ALERT_HOUR"] = "sept"
    done = subprocess.run(intranet_argv("scheduler", "--once"), env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2 and "INTRANET_ALERT_HOUR : heure invalide « sept »" in done.stderr
