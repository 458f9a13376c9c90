"""Job queues with leases (OCR, thumbnails): the one way a worker takes the next job.

A job is claimable when it is pending, or running under a lease that expired (its worker died). Taking
it is one conditional UPDATE, so two workers never hold the same job; on PostgreSQL the candidate is
also read with ``SKIP LOCKED`` so that workers do not queue behind each other. A job model has the
columns ``id``, ``state``, ``attempts``, ``worker`` and ``lease_until``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.orm import Session

from documents.db import utcnow

J = TypeVar("J")

#: Workers that lose the race for a candidate look again, this many times at most.
RACE_RETRIES = 5


def claimable(model: Any, now: dt.datetime, *, pending: str, running: str) -> ColumnElement[bool]:
    """SQL condition: the job waits, or its worker's lease ran out."""
    condition: ColumnElement[bool] = or_(model.state == pending, and_(model.state == running, model.lease_until < now))
    return condition


def claim_next(session: Session, model: type[J], worker: str, *, pending: str, running: str,
               lease_s: float) -> J | None:
    """Lease the oldest claimable job of ``model`` to ``worker`` (one attempt more), or None when none waits."""
    table: Any = model
    for _ in range(RACE_RETRIES):
        now = utcnow()
        candidate = (select(table.id).where(claimable(table, now, pending=pending, running=running))
                     .order_by(table.id).limit(1))
        if session.get_bind().dialect.name == "postgresql":
            candidate = candidate.with_for_update(skip_locked=True)
        job_id = session.scalar(candidate)
        if job_id is None:
            return None
        done: Any = session.execute(
            update(table).where(table.id == job_id, claimable(table, now, pending=pending, running=running))
            .values(state=running, attempts=table.attempts + 1, worker=worker[:120],
                    lease_until=now + dt.timedelta(seconds=lease_s))
            .execution_options(synchronize_session=False))
        if done.rowcount == 1:
            return session.get(model, job_id, populate_existing=True)
        session.rollback()  # another worker took it first: nothing of ours was written
    return None
