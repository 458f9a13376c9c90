"""Who may see and change what (a failing check denies, never grants)."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from sqlalchemy.orm.exc import DetachedInstanceError

from documents import accounts, permissions
from documents.models import User
from documents.permissions import NATIONAL
from testkit import sqlite_only


def member(role: str | None, region: str | None = None, *, active: bool = True) -> User:
    """An account in memory (no database needed for pure checks)."""
    return User(email=f"{role}@test.fr", role=role, region_code=region, active=active)


def verdicts(user: Any) -> tuple[Any, ...]:
    """Every check, for one user."""
    return (
        permissions.visible_regions(user),
        permissions.can_read_region(user, "11"),
        permissions.can_read_region(user, None),
        permissions.can_write_region(user, "11"),
        permissions.can_write_region(user, None),
        permissions.is_admin(user),
        permissions.can_write_anything(user),
    )


NOTHING = (frozenset(), False, False, False, False, False, False)


def test_admin_and_national_see_and_change_everything() -> None:
    for role in ("admin", "national"):
        user = member(role)
        assert permissions.visible_regions(user) is None
        assert all(permissions.can_read_region(user, code) for code in ("11", "93", "974", None))
        assert all(permissions.can_write_region(user, code) for code in ("11", "93", None))
        assert permissions.can_write_anything(user)
    assert permissions.is_admin(member("admin")) and not permissions.is_admin(member("national"))


def test_regional_sees_own_region_and_national_changes_own_region_only() -> None:
    idf = member("regional", "11")
    assert permissions.visible_regions(idf) == frozenset({"11", NATIONAL})
    assert permissions.can_read_region(idf, "11") and permissions.can_read_region(idf, None)
    assert not permissions.can_read_region(idf, "93")
    assert permissions.can_write_region(idf, "11")
    assert not permissions.can_write_region(idf, "93") and not permissions.can_write_region(idf, None)
    assert permissions.can_write_anything(idf) and not permissions.is_admin(idf)


def test_lecteur_is_read_only_with_national_or_regional_scope() -> None:
    national_reader, idf_reader = member("lecteur"), member("lecteur", "11")
    assert permissions.visible_regions(national_reader) is None
    assert permissions.visible_regions(idf_reader) == frozenset({"11", NATIONAL})
    assert not permissions.can_read_region(idf_reader, "93")
    for reader in (national_reader, idf_reader):
        assert not permissions.can_write_region(reader, "11") and not permissions.can_write_region(reader, None)
        assert not permissions.can_write_anything(reader) and not permissions.is_admin(reader)


def test_regional_without_region_reads_national_only_and_changes_nothing() -> None:
    broken = member("regional", None)
    assert permissions.visible_regions(broken) == frozenset({NATIONAL})
    assert not permissions.can_read_region(broken, "11")
    assert not permissions.can_write_region(broken, "11") and not permissions.can_write_region(broken, None)


def test_nobody_and_disabled_accounts_get_nothing() -> None:
    assert verdicts(None) == NOTHING
    for role in ("admin", "national", "regional", "lecteur"):
        assert verdicts(member(role, "11", active=False)) == NOTHING, role


@pytest.mark.parametrize("role", ["superadmin", "ADMIN", "Admin ", "", None, "admin\x00", 42])
def test_corrupt_role_gets_nothing(role: Any, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="documents.permissions"):
        assert verdicts(member(role, "11")) == NOTHING
    assert "permission check failed; denying" in caplog.text


class Exploding:
    """An account whose every attribute read fails (driver error, corrupted row)."""

    def __getattr__(self, name: str) -> Any:
        raise RuntimeError(f"lecture impossible de {name}")


class ExplodingRegion:
    """A regional account whose region cannot be read."""

    active = True
    role = "regional"

    @property
    def region_code(self) -> str:
        raise RuntimeError("région illisible")


def test_exception_inside_a_check_denies(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="documents.permissions"):
        assert verdicts(Exploding()) == NOTHING
        assert verdicts(ExplodingRegion()) == (frozenset(), False, False, False, False, False, True)
    assert "RuntimeError" in caplog.text


@sqlite_only
def test_detached_account_denies(db_session: Any) -> None:
    # A real failure: an account object used after its session is gone cannot load its fields.
    created = accounts.create_user(db_session, email="detache@test.fr", role="admin")
    db_session.commit()
    db_session.expire(created)
    db_session.close()
    with pytest.raises(DetachedInstanceError):
        _ = created.role
    assert verdicts(created) == NOTHING
