"""Who may see and change what, by role and region.

Every check here fails closed: an unexpected value or an exception denies.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from documents.models import Role, User
from documents.regions import covered_codes

logger = logging.getLogger(__name__)

#: Marker used in indexes and filters for documents that belong to no region.
NATIONAL = "national"


def visible_regions(user: User | None) -> frozenset[str] | None:
    """Region codes the user may read (``NATIONAL`` included), or None for all regions.

    An empty frozenset means nothing at all. A user of a current region reads its
    predecessors' records too (Occitanie: Languedoc-Roussillon and Midi-Pyrénées).
    """
    try:
        if user is None or not user.active:
            return frozenset()
        role = Role(user.role)
        if role in (Role.ADMIN, Role.NATIONAL):
            return None
        if role is Role.REGIONAL:
            if not user.region_code:
                return frozenset({NATIONAL})
            return covered_codes(user.region_code) | {NATIONAL}
        if role is Role.LECTEUR:
            if user.region_code:
                return covered_codes(user.region_code) | {NATIONAL}
            return None
    except Exception:  # noqa: BLE001 - a broken check must deny, never grant
        logger.exception("permission check failed; denying")
    return frozenset()


@dataclass(frozen=True)
class ReadScope:
    """What ``user`` reads, ready for a SQL filter: the region codes, and whether national records."""

    regions: tuple[str, ...]
    national: bool


def read_scope(user: User | None) -> ReadScope | None:
    """The scope of ``visible_regions`` split for SQL (None: everything). The one rule every list filters by."""
    allowed = visible_regions(user)
    if allowed is None:
        return None
    return ReadScope(regions=tuple(sorted(code for code in allowed if code != NATIONAL)),
                     national=NATIONAL in allowed)


def can_read_region(user: User | None, region_code: str | None) -> bool:
    """True if ``user`` may read an object of ``region_code`` (None = national)."""
    try:
        allowed = visible_regions(user)
        if allowed is None:
            return True
        return (region_code or NATIONAL) in allowed
    except Exception:  # noqa: BLE001
        logger.exception("permission check failed; denying")
        return False


def can_write_region(user: User | None, region_code: str | None) -> bool:
    """True if ``user`` may create or change an object of ``region_code``."""
    try:
        if user is None or not user.active:
            return False
        role = Role(user.role)
        if role in (Role.ADMIN, Role.NATIONAL):
            return True
        if role is Role.REGIONAL:
            # Regional staff read national documents but only change their own region's
            # (its predecessors' included: the DRAC Occitanie keeps the Midi-Pyrénées files).
            return bool(user.region_code) and region_code is not None \
                and region_code in covered_codes(user.region_code)
        return False
    except Exception:  # noqa: BLE001
        logger.exception("permission check failed; denying")
        return False


def is_admin(user: User | None) -> bool:
    """True for an active administrator."""
    try:
        return bool(user is not None and user.active and Role(user.role) is Role.ADMIN)
    except Exception:  # noqa: BLE001
        return False


def can_write_anything(user: User | None) -> bool:
    """True unless the user is read-only (lecteur) or inactive."""
    try:
        return bool(user is not None and user.active and Role(user.role) is not Role.LECTEUR)
    except Exception:  # noqa: BLE001
        return False
