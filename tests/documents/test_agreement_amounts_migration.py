"""Migration 0014 (agreement amounts): upgrade, downgrade and upgrade again, rows kept around it (SQLite + PostgreSQL)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from documents import migrate
from documents.db import make_engine
from testkit import empty_database

BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])


@pytest.fixture(params=BACKENDS)
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no table, on each backend."""
    with empty_database(request.param, tmp_path) as url:
        yield url


def test_agreement_amount_table_comes_and_goes(empty_url: str) -> None:
    script = ScriptDirectory.from_config(migrate.alembic_config(empty_url)).get_revision("0014")
    assert script is not None
    before = script.down_revision
    assert isinstance(before, str)
    migrate.upgrade(empty_url, before)
    engine = make_engine(empty_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO document (id, title, doc_type, status, tacit_renewal, keywords, notes, "
                              "created_at, updated_at, unlock_reason) VALUES (1, 'Convention', 'convention', "
                              "'signe', false, '', '', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, '')"))
        migrate.upgrade(empty_url, "0014")
        assert "agreement_amount" in inspect(engine).get_table_names()
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO agreement_amount (document_id, line, amount_cents, updated_at) "
                              "VALUES (1, 'formation', 425050, CURRENT_TIMESTAMP)"))
        # The database itself refuses a negative amount, whatever the code does.
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(text("INSERT INTO agreement_amount (document_id, line, amount_cents, updated_at) "
                              "VALUES (1, 'sensibilisation', -1, CURRENT_TIMESTAMP)"))
        with engine.connect() as conn:
            assert conn.execute(text("SELECT amount_cents FROM agreement_amount")).scalars().all() == [425050]
        migrate.downgrade(empty_url, before)
        inspector = inspect(engine)
        assert "agreement_amount" not in inspector.get_table_names()
        with engine.connect() as conn:
            assert conn.execute(text("SELECT title FROM document")).scalar() == "Convention"
        migrate.upgrade(empty_url)
        assert "agreement_amount" in inspect(engine).get_table_names()
    finally:
        engine.dispose()
