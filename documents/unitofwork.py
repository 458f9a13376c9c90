"""The unit of work: the one place in ``documents/`` where a transaction is committed.

Domain verbs only ``flush``; whoever stands at the edge — a web request, a CLI command, one
cycle of a background job — opens a unit of work, calls as many verbs as it needs and commits
them together, or rolls all of them back. Verbs that write files next to rows (the archive
stores a file, then adds its version) register an undo with ``on_rollback``: if the unit of
work is rolled back, the file goes too, so no orphan is left behind whoever rolls back.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

logger = logging.getLogger(__name__)

_UNDO_KEY = "unitofwork_undo"


@contextmanager
def unit_of_work(factory: Callable[[], Session]) -> Iterator[Session]:
    """Open a session, commit it if the block succeeds, roll it back if it raises, then close it."""
    session = factory()
    try:
        yield session
        commit(session)
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def commit(session: Session) -> None:
    """Commit ``session``: for edges whose session they do not open themselves (a request, a batch step)."""
    session.commit()


def on_rollback(session: Session, undo: Callable[[], None]) -> None:
    """Run ``undo`` if the current transaction of ``session`` is rolled back (forgotten once it commits)."""
    session.info.setdefault(_UNDO_KEY, []).append(undo)


def _forget(session: Session) -> None:
    session.info.pop(_UNDO_KEY, None)


def _undo(session: Session) -> None:
    for undo in reversed(session.info.pop(_UNDO_KEY, [])):
        try:
            undo()
        except Exception:  # noqa: BLE001 - one failed undo must not stop the others; check reports orphans
            logger.exception("undo after rollback failed")


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    _forget(session)


@event.listens_for(Session, "after_transaction_end")
def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    # Only the outermost transaction decides (a rolled-back savepoint is handled by its verb). A commit
    # has already forgotten the undos; anything left means a rollback, or a session closed uncommitted.
    if transaction.parent is None and not transaction.nested:
        _undo(session)
