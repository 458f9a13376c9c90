"""Personal calendar and Atom feeds: the secret token in their address, and the meetings they list."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from documents.committees.scope import visible_meetings
from documents.db import utcnow
from documents.feed_tokens import FeedTokens
from documents.models import CalendarToken, CommitteeMember, Meeting, User
from documents.regions import covered_codes

#: How precisely ``CalendarToken.last_used_at`` follows the feed's use.
FEED_USE_RESOLUTION = dt.timedelta(hours=1)


#: The meetings feeds' tokens (``cal_…``).
TOKENS = FeedTokens(CalendarToken, kind="cal_", action="calendar.feed", object_type="calendar")


def create_feed_token(session: Session, user: User, *, ip: str = "") -> str:
    """A new personal feed token (the previous one stops working); the plaintext is returned once."""
    return TOKENS.create(session, user, ip=ip)


def revoke_feed_tokens(session: Session, user: User, *, ip: str = "") -> int:
    """Revoke the user's feed tokens; return how many were live."""
    return TOKENS.revoke(session, user, ip=ip)


def feed_token_info(session: Session, user: User) -> CalendarToken | None:
    """The user's live feed token (prefix and dates only), if any."""
    return TOKENS.live(session, user)


def user_for_feed_token(session: Session, plaintext: str) -> User | None:
    """The active user owning a live feed token, or None (and nothing tells which part was wrong)."""
    token = TOKENS.find(session, plaintext)
    if token is None:
        return None
    now = utcnow()
    last = token.last_used_at
    # Calendar apps poll every few minutes: note the use at most once an hour, not a write per GET.
    if last is None or now - (last if last.tzinfo else last.replace(tzinfo=dt.UTC)) >= FEED_USE_RESOLUTION:
        token.last_used_at = now
        session.flush()
    owner: User = token.user
    return owner


def my_meetings(session: Session, user: User, *, since: dt.datetime | None = None) -> list[Meeting]:
    """A user's meetings for the calendar feed: committees they sit on, and those of their own region."""
    since = since or (utcnow() - dt.timedelta(days=366))
    member_of = select(CommitteeMember.committee_id).where(CommitteeMember.user_id == user.id)
    own = (Meeting.region_code.in_(sorted(covered_codes(user.region_code))) if user.region_code
           else Meeting.region_code.is_(None))
    stmt = visible_meetings(user).where(Meeting.starts_at >= since,
                                        or_(Meeting.committee_id.in_(member_of), own))
    return list(session.scalars(stmt.order_by(Meeting.starts_at).limit(1000)))
