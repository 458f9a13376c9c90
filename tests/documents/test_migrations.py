"""Alembic migrations: in step with the models, reversible, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

import documents.models  # noqa: F401  (every table on the metadata, as in migrations/env.py)
from documents import migrate
from documents.db import Base, make_engine
from testkit import empty_database

BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])


@pytest.fixture(params=BACKENDS)
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no table, on each backend."""
    with empty_database(request.param, tmp_path) as url:
        yield url


def differences(url: str) -> list[Any]:
    """What autogenerate would write: differences between the database and the models."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True,
                                                             "compare_server_default": False})
            return compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()


def tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def version(url: str) -> str | None:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    finally:
        engine.dispose()


def test_one_head() -> None:
    assert len(migrate.current_heads("sqlite://")) == 1, "two migration branches: merge them"


def test_models_and_migrations_agree_and_migrations_reverse(empty_url: str) -> None:
    model_tables = set(Base.metadata.tables)
    assert {"user_account", "user_session", "api_token", "login_attempt", "audit_event", "region",
            "organisation", "quartier"} <= model_tables

    migrate.upgrade(empty_url)
    assert differences(empty_url) == []
    assert tables(empty_url) == model_tables | {"alembic_version"}
    assert version(empty_url) == migrate.current_heads(empty_url)[0]

    migrate.downgrade(empty_url, "base")
    assert tables(empty_url) <= {"alembic_version"}

    migrate.upgrade(empty_url)
    assert differences(empty_url) == []


def test_the_check_can_see_a_difference(empty_url: str) -> None:
    # Guard against a comparison that always passes: drop a column, and it must show.
    migrate.upgrade(empty_url)
    engine = make_engine(empty_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("ALTER TABLE organisation DROP COLUMN email"))
    finally:
        engine.dispose()
    found = differences(empty_url)
    assert [d for d in found if d[0] == "add_column" and d[3].name == "email"]
