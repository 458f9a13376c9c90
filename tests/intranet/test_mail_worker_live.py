"""``intranet mail-worker`` started as ``make run`` starts it: a real process sends a queued message, then stops on SIGTERM."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from documents import mailqueue
from documents.db import make_engine, make_session_factory
from documents.mail import Message, list_outbox
from documents.models import MailOutbox
from intranet.background import WORKERS
from testkit import LIVE_BACKENDS, ROOT, intranet_argv, make_run_env

pytestmark = pytest.mark.slow


@pytest.fixture(params=LIVE_BACKENDS)
def env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    """The environment of ``make run`` on a fresh data folder and database, bootstrapped."""
    with make_run_env(request.param, tmp_path) as env:
        yield env


def test_the_mail_worker_process_sends_the_outbox_and_stops_on_sigterm(env: dict[str, str]) -> None:
    assert "mail-worker" in [w.name for w in WORKERS], "declared, so that make run starts it"
    done = subprocess.run(intranet_argv("bootstrap"), env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    data = Path(env["INTRANET_DATA_DIR"])
    engine = make_engine(env["DATABASE_URL"])
    session = make_session_factory(engine)()
    log = data / "mail-worker.log"
    log_file = log.open("w")
    worker = subprocess.Popen(intranet_argv("mail-worker", "--interval", "0.2"), env=env, cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=log_file)
    try:
        row = mailqueue.enqueue(session, Message(to=["nadia@melies.example"], subject="Convocation du comité",
                                                 body="Bonjour, vous êtes convoquée."))
        session.commit()
        deadline = time.monotonic() + 20

        row_id = row.id

        def state() -> str:
            session.rollback()
            return session.scalar(select(MailOutbox.state).where(MailOutbox.id == row_id)) or ""

        while state() != "sent" and time.monotonic() < deadline:
            assert worker.poll() is None, log.read_text()
            time.sleep(0.1)
        assert state() == "sent", log.read_text()
        [entry] = list_outbox(data / "mail")
        assert entry.subject == "Convocation du comité" and "nadia@melies.example" in entry.recipients
        beat = json.loads((data / "heartbeats" / "mail-worker.json").read_text())
        assert beat["pid"] == worker.pid and beat["state"] == "running"
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            code = worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()
            raise
        log_file.close()
        session.close()
        engine.dispose()
    assert code == 0, log.read_text()
