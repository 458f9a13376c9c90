"""Fixtures of the committee verbs' tests (``documents.committees``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from documents.committees.notifications import Notifier
from documents.storage import LocalStorage
from testkit import with_committees


@pytest.fixture
def session(db_session: Any) -> Any:
    """The test database with the committees of the reference data."""
    return with_committees(db_session)


@pytest.fixture
def storage(tmp_path: Path) -> LocalStorage:
    return LocalStorage(tmp_path / "files")


@pytest.fixture
def outbox(tmp_path: Path) -> Path:
    return tmp_path / "mail"


@pytest.fixture
def notifier(outbox: Path) -> Notifier:
    return Notifier(lambda m: f"https://intranet.test/comites/reunions/{m.id}")
