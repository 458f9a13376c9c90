"""``intranet scheduler``: the daily jobs (today the deadline alerts), run by ``make run`` beside the web.

Each job runs once a day at or after its hour (Paris time): a scheduler started after that hour,
because it was down or the machine was off, runs the day's jobs at once. What it ran is kept in
memory only; a restart may run a job again the same day, which is why every job must be safe to
repeat (the deadline alerts record each alert sent and send nothing twice).

Settings: ``INTRANET_ALERT_HOUR`` (0 to 23, default 7) is the hour of the deadline alerts;
``INTRANET_TODAY`` (AAAA-MM-JJ) fixes the day, for tests and replays.
"""

from __future__ import annotations

import datetime as dt
import logging
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from documents import heartbeat

logger = logging.getLogger("intranet.scheduler")

#: Name of the worker's heartbeat and of its ``intranet.background`` declaration.
NAME = "scheduler"
PARIS = ZoneInfo("Europe/Paris")
HOUR_ENV = "INTRANET_ALERT_HOUR"
DEFAULT_ALERT_HOUR = 7
#: Seconds between two looks at the clock (and between two attempts after a failed job).
DEFAULT_INTERVAL = 60.0


@dataclass(frozen=True)
class DailyJob:
    """A job run once a day, at or after ``hour`` (Paris time)."""

    name: str
    hour: int
    #: Runs the job for a day; returns one line for the log.
    run: Callable[[Flask, dt.date], str]


def alert_hour(environ: Any) -> int:
    """``INTRANET_ALERT_HOUR`` as an hour (0–23); ValueError with a French message otherwise."""
    raw = str(environ.get(HOUR_ENV, "") or "").strip()
    if not raw:
        return DEFAULT_ALERT_HOUR
    if not raw.isascii() or not raw.isdigit() or not 0 <= int(raw) <= 23:
        raise ValueError(f"{HOUR_ENV} : heure invalide « {raw[:20]} » (nombre entier de 0 à 23 attendu).")
    return int(raw)


def _notify(app: Flask, today: dt.date) -> str:
    from intranet.library.alerts import run_notify, summary

    return summary(run_notify(app, today))


def _reminders(app: Flask, today: dt.date) -> str:
    from intranet.signatures.cli import run_reminders

    return run_reminders(app, today)


def daily_jobs(environ: Any) -> list[DailyJob]:
    """The jobs of the intranet, with their hours from the environment."""
    hour = alert_hour(environ)
    return [DailyJob("deadlines-notify", hour, _notify), DailyJob("signature-reminders", hour, _reminders)]


def paris_clock(fixed_day: dt.date | None = None) -> Callable[[], tuple[dt.date, int]]:
    """(day, hour) in Paris now; the day is ``fixed_day`` when given."""
    def clock() -> tuple[dt.date, int]:
        now = dt.datetime.now(tz=PARIS)
        return (fixed_day or now.date()), now.hour
    return clock


class Scheduler:
    """Runs each job once per day, at or after its hour; a failed job is tried again at the next look."""

    def __init__(self, app: Flask, jobs: Sequence[DailyJob], clock: Callable[[], tuple[dt.date, int]]) -> None:
        self.app, self.jobs, self.clock = app, list(jobs), clock
        self.done: dict[str, dt.date] = {}

    def tick(self) -> list[str]:
        """Run the jobs that are due now; the names of those that ran and succeeded."""
        day, hour = self.clock()
        ran = []
        for job in self.jobs:
            if hour < job.hour or self.done.get(job.name) == day:
                continue
            try:
                line = job.run(self.app, day)
            except Exception:  # noqa: BLE001 - one failed job (database down) must not stop the scheduler
                logger.exception("daily job %s failed for %s; next attempt at the next look", job.name, day)
                continue
            self.done[job.name] = day
            ran.append(job.name)
            logger.info("%s (%s): %s", job.name, day.isoformat(), line)
        return ran

    def run(self, stop: threading.Event, *, interval: float, beat: Callable[[], None] | None = None,
            beat_every: float = 2.0) -> None:
        """Look at the clock every ``interval`` seconds until ``stop`` is set; ``beat`` every ``beat_every`` s."""
        while not stop.is_set():
            if beat is not None:
                beat()
            with _beating(beat, beat_every):
                self.tick()
            # Wake up often enough to beat: /sante calls a worker silent for 30 s stopped.
            waited = 0.0
            while waited < interval and not stop.is_set():
                step = min(beat_every, interval - waited)
                stop.wait(step)
                waited += step
                if beat is not None:
                    beat()


@contextmanager
def _beating(beat: Callable[[], None] | None, every: float) -> Iterator[None]:
    """Beat from a side thread while the block runs: a first run of the alerts can take a minute,
    and /sante would otherwise call the scheduler stopped (no beat for 30 s)."""
    if beat is None:
        yield
        return
    done = threading.Event()

    def loop() -> None:
        while not done.wait(every):
            beat()

    thread = threading.Thread(target=loop, name="scheduler-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join(every + 1)


@click.command("scheduler")
@click.option("--once", is_flag=True, help="Lance les tâches dues maintenant, puis s'arrête.")
@click.option("--interval", type=click.FloatRange(min=0.1, max=3600), default=DEFAULT_INTERVAL, show_default=True,
              help="Secondes entre deux coups d'œil à l'horloge.")
@with_appcontext
def scheduler_cmd(once: bool, interval: float) -> None:
    """Lance les tâches quotidiennes (alertes d'échéances à INTRANET_ALERT_HOUR heures, rattrapées après un arrêt)."""
    import os

    from intranet.library.alerts import fixed_today

    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]  # werkzeug's LocalProxy does not show the proxied object's methods
    try:
        jobs = daily_jobs(os.environ)
        fixed = fixed_today()
    except ValueError as exc:
        click.echo(f"Erreur : {exc}", err=True)
        sys.exit(2)
    scheduler = Scheduler(app, jobs, paris_clock(fixed))
    if once:
        ran = scheduler.tick()
        click.echo("Tâches lancées : " + (", ".join(ran) if ran else "aucune (pas encore l'heure)") + ".")
        return
    stop = threading.Event()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            # A job in progress finishes (its unit of work commits or rolls back whole), then the loop stops.
            signal.signal(sig, lambda *_: stop.set())
    hours = ", ".join(f"{job.name} à {job.hour} h" for job in jobs)
    click.echo(f"Planificateur démarré ({hours}, heure de Paris ; Ctrl+C pour arrêter).", err=True)
    scheduler.run(stop, interval=interval, beat=heartbeat.Beater(app.config["DATA_DIR"], NAME))


#: Click commands added to the ``intranet`` group.
COMMANDS: list[Any] = [scheduler_cmd]
