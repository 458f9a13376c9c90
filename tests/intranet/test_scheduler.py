"""The daily scheduler: each job once a day at or after its hour, caught up after a stop, retried after a failure."""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Any

import pytest
from sqlalchemy import func, select

from documents.models import Document, MailOutbox
from intranet.background import WORKERS
from intranet.scheduler import DEFAULT_ALERT_HOUR, DailyJob, Scheduler, alert_hour, daily_jobs


class Clock:
    """A settable (day, hour): the scheduler's clock is a parameter."""

    def __init__(self, day: dt.date, hour: int) -> None:
        self.day, self.hour = day, hour

    def __call__(self) -> tuple[dt.date, int]:
        return self.day, self.hour


def test_declared_as_a_background_worker() -> None:
    [worker] = [w for w in WORKERS if w.name == "scheduler"]
    assert worker.command == ("scheduler",) and worker.heartbeat


def test_alert_hour_setting() -> None:
    assert alert_hour({}) == DEFAULT_ALERT_HOUR == 7
    assert alert_hour({"INTRANET_ALERT_HOUR": "0"}) == 0 and alert_hour({"INTRANET_ALERT_HOUR": " 23 "}) == 23
    for bad in ("24", "-1", "7h", "²", "9" * 40):
        with pytest.raises(ValueError, match="INTRANET_ALERT_HOUR : heure invalide"):
            alert_hour({"INTRANET_ALERT_HOUR": bad})
    assert [j.name for j in daily_jobs({})] == ["deadlines-notify", "signature-reminders"]


def test_runs_once_a_day_after_its_hour_and_retries_a_failure(app: Any) -> None:
    runs: list[dt.date] = []
    failures = {"left": 1}

    def job(_app: Any, day: dt.date) -> str:
        if failures["left"]:
            failures["left"] -= 1
            raise RuntimeError("base de données arrêtée")
        runs.append(day)
        return "ok"

    clock = Clock(dt.date(2027, 1, 10), 6)
    scheduler = Scheduler(app, [DailyJob("essai", 7, job)], clock)
    assert scheduler.tick() == [] and runs == []  # before its hour
    clock.hour = 7
    assert scheduler.tick() == []  # it failed: tried again at the next look
    assert scheduler.tick() == ["essai"] and runs == [dt.date(2027, 1, 10)]
    clock.hour = 15
    assert scheduler.tick() == []  # once a day
    # Down for two days, back in the afternoon: the day's run happens at once.
    clock.day, clock.hour = dt.date(2027, 1, 13), 16
    assert scheduler.tick() == ["essai"] and runs[-1] == dt.date(2027, 1, 13)
    clock.day, clock.hour = dt.date(2027, 1, 14), 2
    assert scheduler.tick() == []


def test_the_alerts_job_queues_the_digests_once(app: Any, db_session: Any) -> None:
    db_session.add(Document(title="Convention IDF", doc_type="convention", region_code="11", year=2026, status="signe",
                            keywords="", notes="", end_date=dt.date(2027, 1, 20)))
    db_session.commit()
    clock = Clock(dt.date(2027, 1, 10), 8)
    assert Scheduler(app, daily_jobs({}), clock).tick() == ["deadlines-notify", "signature-reminders"]
    count = db_session.scalar(select(func.count()).select_from(MailOutbox))
    assert count == 5  # every account that sees Île-de-France
    # A restarted scheduler (nothing remembered) runs the job again the same day: nothing is sent twice.
    assert Scheduler(app, daily_jobs({}), clock).tick() == ["deadlines-notify", "signature-reminders"]
    assert db_session.scalar(select(func.count()).select_from(MailOutbox)) == count


def test_it_keeps_beating_during_a_long_job(app: Any) -> None:
    stop = threading.Event()
    beats: list[float] = []
    spans: list[tuple[float, float]] = []

    def job(_app: Any, _day: dt.date) -> str:
        start = time.monotonic()
        time.sleep(0.8)
        spans.append((start, time.monotonic()))
        stop.set()
        return "ok"

    Scheduler(app, [DailyJob("long", 0, job)], Clock(dt.date(2027, 1, 10), 9)).run(
        stop, interval=5, beat=lambda: beats.append(time.monotonic()), beat_every=0.1)
    [(start, end)] = spans
    # /sante reads the heartbeat file: it must stay fresh while a first run of the alerts takes its time.
    assert len([b for b in beats if start < b < end]) >= 4


def test_the_reminders_job_queues_a_signature_reminder_once(app: Any, db_session: Any) -> None:
    from documents import signatures
    from documents.models import User

    idf = db_session.scalar(select(User).where(User.email == "idf@test.fr"))
    doc = Document(title="Convention en attente", doc_type="convention", region_code="11", year=2026,
                   status="brouillon", keywords="", notes="")
    db_session.add(doc)
    db_session.flush()
    signatures.send_for_signature(db_session, doc, actor=idf, recipient="DRAC Île-de-France",
                                  on=dt.date(2027, 1, 2), today=dt.date(2027, 1, 2))
    db_session.commit()
    clock = Clock(dt.date(2027, 1, 20), 8)  # 18 days later: past the 15 days of a convention
    assert "signature-reminders" in Scheduler(app, daily_jobs({}), clock).tick()
    reminders = db_session.scalars(select(MailOutbox).where(MailOutbox.subject.contains("Signature en attente"))).all()
    assert len(reminders) == 1 and "Convention en attente" in reminders[0].subject
    assert "signature-reminders" in Scheduler(app, daily_jobs({}), clock).tick()
    assert db_session.scalar(select(func.count()).select_from(MailOutbox)
                             .where(MailOutbox.subject.contains("Signature en attente"))) == 1
