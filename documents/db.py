"""Database plumbing shared by the web app, the CLI, workers and tests."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import MetaData, create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

# Stable constraint names, so that Alembic migrations can name what they alter or drop.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base of every model."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> dt.datetime:
    """Return the current time in UTC, timezone-aware."""
    return dt.datetime.now(dt.UTC)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the indexer and several gunicorn workers read while one writes;
    # busy_timeout makes a second writer wait instead of failing at once.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
    # French alphabetical order in SQL (documents.frenchtext.french_order): SQLite knows no accents.
    from documents.frenchtext import SQLITE_FOLD_FUNCTION, fold_for_sql

    dbapi_connection.create_function(SQLITE_FOLD_FUNCTION, 1, fold_for_sql, deterministic=True)


def _sqlite_begin_before_savepoint(conn: Connection, _name: str | None) -> None:
    # Python's sqlite3 module opens a transaction (BEGIN) only before INSERT, UPDATE or DELETE. When
    # a SAVEPOINT is the first write of a unit of work, SQLite makes that savepoint the transaction
    # itself, and releasing it COMMITS: a later rollback of the unit of work would leave its rows
    # behind. Open the real transaction first, so that the savepoint nests inside it.
    raw = conn.connection.driver_connection
    if raw is not None and not raw.in_transaction:
        raw.execute("BEGIN")


def normalise_url(url: str) -> str:
    """Map plain ``postgresql://`` URLs to the psycopg 3 driver."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine for ``url`` with the project's connection settings."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 15}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "savepoint", _sqlite_begin_before_savepoint)
    else:
        engine = create_engine(url, pool_pre_ping=True, **kwargs)
    return engine


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Return a session factory bound to ``engine``."""
    return sessionmaker(bind=engine, expire_on_commit=False)


def session_scope(factory: sessionmaker[Session]) -> Any:
    """Alias of ``documents.unitofwork.unit_of_work`` (commit on success, rollback on error)."""
    from documents.unitofwork import unit_of_work

    return unit_of_work(factory)
