"""Login throttling counts simultaneous attempts exactly."""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import func, select

from documents import accounts
from documents.db import make_engine, make_session_factory
from documents.models import LoginAttempt
from testkit import PASSWORD, USERS

IP = "192.0.2.44"
ATTEMPTS = 12


def test_simultaneous_bad_attempts_are_counted_atomically(database_url: str, db_session: Any) -> None:
    # Twelve threads, each with its own connection (as separate workers would), released at once.
    engine = make_engine(database_url, pool_size=ATTEMPTS, max_overflow=0) \
        if not database_url.startswith("sqlite") else make_engine(database_url)
    factory = make_session_factory(engine)
    barrier = threading.Barrier(ATTEMPTS)
    outcomes: list[str] = []
    lock = threading.Lock()

    def attempt() -> None:
        with factory() as session:
            barrier.wait()
            try:
                accounts.authenticate(session, USERS["idf"][0], "mauvais-mot-de-passe", ip=IP)
                result = "accepted"
            except accounts.Throttled:
                result = "throttled"
                session.commit()  # as the login view does: a refusal is recorded
            except accounts.AuthError:
                result = "failed"
                session.commit()
            except Exception as exc:  # noqa: BLE001 — reported by the assertion below
                result = f"error: {exc!r}"
            with lock:
                outcomes.append(result)

    threads = [threading.Thread(target=attempt) for _ in range(ATTEMPTS)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    finally:
        engine.dispose()
    assert sorted(outcomes) == ["failed"] * accounts.MAX_FAILURES_PER_EMAIL + \
        ["throttled"] * (ATTEMPTS - accounts.MAX_FAILURES_PER_EMAIL)
    db_session.rollback()
    assert db_session.scalar(select(func.count()).select_from(LoginAttempt).where(
        LoginAttempt.email == USERS["idf"][0])) == accounts.MAX_FAILURES_PER_EMAIL
    # Even the right password is refused now, while another account is not locked out.
    try:
        accounts.authenticate(db_session, USERS["idf"][0], PASSWORD, ip="198.51.100.9")
    except accounts.Throttled:
        pass
    else:
        raise AssertionError("the sixth attempt should be throttled")
    assert accounts.authenticate(db_session, USERS["paca"][0], PASSWORD, ip="198.51.100.9")
