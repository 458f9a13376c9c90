"""Migration 0012 on a database with data: existing accounts receive alerts, queued mails stay plain text, and back."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from documents import migrate
from documents.db import make_engine
from testkit import empty_database

BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])


@pytest.fixture(params=BACKENDS)
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no table, on each backend."""
    with empty_database(request.param, tmp_path) as url:
        yield url


def test_upgrade_keeps_accounts_subscribed_and_downgrade_removes_it_all(empty_url: str) -> None:
    migrate.upgrade(empty_url, "0011")
    engine = make_engine(empty_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO user_account (email, name, role, password_hash, active, "
                              "must_change_password, created_at) VALUES ('idf@test.fr', 'Idf', 'regional', '', "
                              ":yes, :no, CURRENT_TIMESTAMP)"), {"yes": True, "no": False})
            conn.execute(text("INSERT INTO mail_outbox (recipients, subject, body, attachments, origin, state, "
                              "attempts, next_attempt_at, last_error, created_at) VALUES ('[\"a@b.fr\"]', 'Sujet', "
                              "'Texte', '[]', '', 'pending', 0, CURRENT_TIMESTAMP, '', CURRENT_TIMESTAMP)"))
        migrate.upgrade(empty_url, "0012")
        with engine.connect() as conn:
            assert conn.execute(text("SELECT deadline_alerts FROM user_account")).scalar_one() in (True, 1)
            assert conn.execute(text("SELECT html FROM mail_outbox")).scalar_one() == ""
        tables = set(inspect(engine).get_table_names())
        assert {"deadline_alert", "deadline_feed_token"} <= tables

        migrate.downgrade(empty_url, "0011")
        engine.dispose()
        inspector = inspect(engine)
        assert not {"deadline_alert", "deadline_feed_token"} & set(inspector.get_table_names())
        assert "deadline_alerts" not in {c["name"] for c in inspector.get_columns("user_account")}
        assert "html" not in {c["name"] for c in inspector.get_columns("mail_outbox")}
        with engine.connect() as conn:
            assert conn.execute(text("SELECT email FROM user_account")).scalar_one() == "idf@test.fr"
            assert conn.execute(text("SELECT body FROM mail_outbox")).scalar_one() == "Texte"
    finally:
        engine.dispose()
