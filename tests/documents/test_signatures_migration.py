"""Migration 0013 (signature track) up and down on a database holding documents (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import MetaData, inspect, select
from sqlalchemy.exc import IntegrityError

from documents import migrate
from documents.db import make_engine
from testkit import empty_database

BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])
NOW = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(params=BACKENDS)
def old_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database at revision 0012 (the one before) holding one convention « en signature »."""
    with empty_database(request.param, tmp_path) as url:
        migrate.upgrade(url, "0012")
        engine = make_engine(url)
        meta = MetaData()
        meta.reflect(engine)
        with engine.begin() as conn:
            conn.execute(meta.tables["document"].insert(), [{
                "id": 7, "title": "Convention 2026", "doc_type": "convention", "status": "en_signature",
                "tacit_renewal": False, "keywords": "", "notes": "", "created_at": NOW, "updated_at": NOW,
                "unlock_reason": ""}])
        engine.dispose()
        yield url


def test_0013_adds_the_signature_steps_and_removes_them_again(old_url: str) -> None:
    migrate.upgrade(old_url, "0013")
    engine = make_engine(old_url)
    try:
        assert "signature_step" in inspect(engine).get_table_names()
        meta = MetaData()
        meta.reflect(engine)
        steps = meta.tables["signature_step"]
        with engine.begin() as conn:
            conn.execute(steps.insert(), [{"document_id": 7, "cycle": 1, "seq": 1, "kind": "envoi",
                                           "signatory": "DRAC", "step_date": dt.date(2026, 3, 2), "reason": "",
                                           "created_at": NOW}])
            # The unique key refuses a second step at the same place of the same cycle.
            with pytest.raises(IntegrityError, match="(?i)unique"):
                with conn.begin_nested():
                    conn.execute(steps.insert(), [{"document_id": 7, "cycle": 1, "seq": 1, "kind": "coordination",
                                                   "signatory": "", "step_date": dt.date(2026, 3, 3),
                                                   "reason": "", "created_at": NOW}])
            assert conn.execute(select(steps.c.kind)).scalars().all() == ["envoi"]
    finally:
        engine.dispose()

    migrate.downgrade(old_url, "0012")
    engine = make_engine(old_url)
    try:
        assert "signature_step" not in inspect(engine).get_table_names()
        meta = MetaData()
        meta.reflect(engine)
        with engine.connect() as conn:
            assert conn.execute(select(meta.tables["document"].c.title)).scalars().all() == ["Convention 2026"]
    finally:
        engine.dispose()
