"""Shared fixtures, flaskr style: a fresh data folder per test, on SQLite and PostgreSQL.

The database of each test is a copy of a template built once per run with the real
Alembic migrations, the reference data and a few standard accounts, so that tests stay
fast without sharing state. With ``TEST_DATABASE_URL`` set, every database-backed test
also runs on PostgreSQL (a ``CREATE DATABASE … TEMPLATE`` copy per test).
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from documents import accounts, migrate, reference
from documents.db import make_engine, make_session_factory, normalise_url, session_scope
from testkit import PASSWORD, POPULATE_HOOKS, USERS, AuthActions, make_app

# Cheaper argon2id for the suite; production costs are asserted in tests/documents/test_accounts.py.
accounts.configure_hasher(time_cost=1, memory_cost=8 * 1024)

BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])


def _populate(url: str) -> None:
    migrate.upgrade(url)
    engine = make_engine(url)
    with session_scope(make_session_factory(engine)) as session:
        reference.load_reference(session)
        for email, role, region in USERS.values():
            accounts.create_user(session, email=email, role=role, region_code=region, password=PASSWORD,
                                 name=email.split("@")[0].capitalize())
        for hook in POPULATE_HOOKS:
            hook(session)
    engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite database file with reference data and standard users."""
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    _populate(f"sqlite:///{path}")
    return path


def _pg_admin_url() -> str:
    return normalise_url(os.environ["TEST_DATABASE_URL"])


def _pg_exec(sql: str) -> None:
    engine = create_engine(_pg_admin_url(), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(sql))
    engine.dispose()


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """A migrated PostgreSQL template database (name), dropped at the end of the run."""
    name = f"intranet_tpl_{uuid.uuid4().hex[:8]}"
    _pg_exec(f'CREATE DATABASE "{name}"')
    url = make_url(_pg_admin_url()).set(database=name).render_as_string(hide_password=False)
    _populate(url)
    yield name
    _pg_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database for one test, on each backend."""
    if request.param == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        target = tmp_path / "data" / "intranet.sqlite3"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(template, target)
        yield f"sqlite:///{target}"
    else:
        template = request.getfixturevalue("pg_template")
        name = f"intranet_t_{uuid.uuid4().hex[:10]}"
        _pg_exec(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        yield make_url(_pg_admin_url()).set(database=name).render_as_string(hide_password=False)
        _pg_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """The test's own data folder."""
    path = tmp_path / "data"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture
def app(database_url: str, data_dir: Path) -> Iterator[Any]:
    """The app on a fresh data folder and database."""
    # Requests that write outbox rows drain them before answering (see intranet/search/views.py).
    app = make_app(database_url, data_dir, SEARCH_SYNC=True)
    yield app
    from intranet.search.views import reset_index

    reset_index(app)  # closes the cached searchers' files
    app.extensions["db_engine"].dispose()


@pytest.fixture
def client(app: Any) -> Any:
    """A test client."""
    return app.test_client()


@pytest.fixture
def runner(app: Any) -> Any:
    """A CLI runner."""
    return app.test_cli_runner()


@pytest.fixture
def db_session(app: Any) -> Iterator[Any]:
    """A session on the test database, outside any request."""
    session = app.extensions["db_factory"]()
    yield session
    session.close()


@pytest.fixture
def auth(client: Any) -> AuthActions:
    """Login helper bound to ``client``."""
    return AuthActions(client)


# ---------------------------------------------------------------- search engines

#: Modules whose every test runs once per search engine (``SEARCH_BACKEND``); test_search.py
#: and test_search_counts.py choose the engine with their own fixtures.
SEARCH_ENGINE_MODULES = {"test_indexer.py", "test_api_search.py", "test_cli_search.py", "test_search_web.py"}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run the search modules' tests on both engines."""
    if "search_backend" in metafunc.fixturenames and Path(str(metafunc.module.__file__)).name in SEARCH_ENGINE_MODULES:
        from documents.search import BACKENDS

        metafunc.parametrize("search_backend", BACKENDS, indirect=True)


@pytest.fixture(autouse=True)
def search_backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str | None:
    """The engine of the indexes this test creates (None: the configured default)."""
    backend = getattr(request, "param", None)
    if backend is not None:
        monkeypatch.setenv("SEARCH_BACKEND", backend)
    return backend
