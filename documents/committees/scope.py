"""Who sees and changes which committee or meeting, applied in Python and in SQL.

Who sees what follows the archive (``documents.permissions``): national staff see every
committee; regional staff see their region's committees and, read-only, the national
committee; nobody else. Writing needs write rights on the committee's region. Members
of a committee who may read it may also comment on submitted minutes.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, false, func, or_, select
from sqlalchemy.orm import Session

from documents import permissions
from documents.errors import NotFound, PermissionDenied
from documents.models import Committee, Meeting, User


def scoped(stmt: Select[Any], column: Any, user: User | None) -> Select[Any]:
    """``stmt`` limited to rows whose region ``column`` (None: national) ``user`` may see."""
    allowed = permissions.visible_regions(user)
    if allowed is None:
        return stmt
    regions = sorted(r for r in allowed if r != permissions.NATIONAL)
    conditions = []
    if permissions.NATIONAL in allowed:
        conditions.append(column.is_(None))
    if regions:
        conditions.append(column.in_(regions))
    return stmt.where(or_(*conditions)) if conditions else stmt.where(false())


def can_read(user: User | None, obj: Committee | Meeting) -> bool:
    """True if ``user`` may see this committee or meeting."""
    return permissions.can_read_region(user, obj.region_code)


def can_manage(user: User | None, obj: Committee | Meeting) -> bool:
    """True if ``user`` may change this committee or meeting."""
    return permissions.can_write_region(user, obj.region_code)


def is_member(user: User | None, committee: Committee) -> bool:
    """True if ``user`` is listed among the committee's members."""
    return user is not None and any(m.user_id == user.id for m in committee.members)


def can_comment(user: User | None, meeting: Meeting) -> bool:
    """Members (and the staff who run the committee) comment on submitted minutes."""
    return can_read(user, meeting) and (can_manage(user, meeting) or is_member(user, meeting.committee))


def require_manage(user: User | None, obj: Committee | Meeting) -> None:
    """NotFound if ``user`` may not see ``obj``, PermissionDenied if they may only read it."""
    if not can_read(user, obj):
        raise NotFound("Comité ou réunion introuvable.")
    if not can_manage(user, obj):
        raise PermissionDenied("Vous pouvez consulter ce comité mais pas le modifier.")


def visible_committees(user: User | None, *, include_inactive: bool = False) -> Select[Committee]:
    """Committees ``user`` may see (scope applied in SQL), national first."""
    stmt = select(Committee)
    if not include_inactive:
        stmt = stmt.where(Committee.active.is_(True))
    level_order = func.coalesce(Committee.region_code, "")
    return scoped(stmt, Committee.region_code, user).order_by(level_order, Committee.level.desc(), Committee.name)


def visible_meetings(user: User | None) -> Select[Meeting]:
    """Meetings ``user`` may see (scope applied in SQL)."""
    return scoped(select(Meeting), Meeting.region_code, user)


def get_committee(session: Session, user: User | None, committee_id: int) -> Committee:
    """The committee if ``user`` may see it; NotFound otherwise (no hint that it exists)."""
    committee = session.get(Committee, committee_id)
    if committee is None or not can_read(user, committee):
        raise NotFound("Comité introuvable.")
    return committee


def get_meeting(session: Session, user: User | None, meeting_id: int) -> Meeting:
    """The meeting if ``user`` may see it; NotFound otherwise (no hint that it exists)."""
    meeting = session.get(Meeting, meeting_id)
    if meeting is None or not can_read(user, meeting):
        raise NotFound("Réunion introuvable.")
    return meeting
