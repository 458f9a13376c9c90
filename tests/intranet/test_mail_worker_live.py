"""``intranet mail-worker`` started as ``make run`` starts it: a real process sends a queued message, then stops on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
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
from testkit import empty_database

ROOT = Path(__file__).resolve().parents[2]
BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])

pytestmark = pytest.mark.slow


def _argv(*args: str) -> list[str]:
    script = Path(sys.executable).with_name("intranet")
    return [str(script) if script.exists() else sys.executable, *([] if script.exists() else ["-m", "intranet"]),
            *args]


@pytest.fixture(params=BACKENDS)
def env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    """The environment of ``make run`` on a fresh data folder and database, bootstrapped."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INTRANET_", "DATABASE_URL", "MAIL_", "SMTP_"))}
    env["INTRANET_DATA_DIR"] = str(tmp_path / "instance")
    if request.param == "sqlite":
        env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'instance' / 'intranet.sqlite3'}"
        yield env
        return
    with empty_database("postgresql", tmp_path) as url:
        env["DATABASE_URL"] = url
        yield env


def test_the_mail_worker_process_sends_the_outbox_and_stops_on_sigterm(env: dict[str, str]) -> None:
    assert "mail-worker" in [w.name for w in WORKERS], "declared, so that make run starts it"
    done = subprocess.run(_argv("bootstrap"), env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    data = Path(env["INTRANET_DATA_DIR"])
    engine = make_engine(env["DATABASE_URL"])
    session = make_session_factory(engine)()
    log = data / "mail-worker.log"
    log_file = log.open("w")
    worker = subprocess.Popen(_argv("mail-worker", "--interval", "0.2"), env=env, cwd=ROOT,
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
