"""Personal calendar feeds (hashed, revocable tokens) and a meeting's search entry."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from sqlalchemy import select

from committeekit import schedule
from documents.committees.decisions import DecisionInput, add_decision
from documents.committees.feeds import (
    create_feed_token,
    my_meetings,
    revoke_feed_tokens,
    user_for_feed_token,
)
from documents.committees.indexing import index_entry_for_meeting
from documents.committees.members import add_member
from documents.models import CalendarToken
from testkit import committee, user


def test_feed_token_is_hashed_and_revocable(session: Any) -> None:
    idf = user(session, "idf")
    first = create_feed_token(session, idf)
    assert first.startswith("cal_") and len(first) > 40
    stored = session.scalars(select(CalendarToken.token_hash)).all()
    assert stored == [hashlib.sha256(first.encode()).hexdigest()]
    assert user_for_feed_token(session, first) is idf
    second = create_feed_token(session, idf)
    assert user_for_feed_token(session, first) is None
    assert user_for_feed_token(session, second) is idf
    assert revoke_feed_tokens(session, idf) == 1
    assert user_for_feed_token(session, second) is None
    for bad in ("", "cal_", "pi_" + second[4:], second + "x", "cal_" + "a" * 200):
        assert user_for_feed_token(session, bad) is None


def test_my_meetings_and_index_entry(session: Any) -> None:
    idf = user(session, "idf")
    own = schedule(session, day=dt.date.today() + dt.timedelta(days=10))
    national = schedule(session, "national", "national", day=dt.date.today() + dt.timedelta(days=20))
    paca = schedule(session, "regional-93", "paca", day=dt.date.today() + dt.timedelta(days=5))
    assert [m.id for m in my_meetings(session, idf)] == [own.id]
    add_member(session, committee(session, "national"), actor=user(session, "national"), user_id=idf.id)
    assert [m.id for m in my_meetings(session, idf)] == [own.id, national.id]
    assert [m.id for m in my_meetings(session, user(session, "national"))] == [national.id]
    assert paca.id not in [m.id for m in my_meetings(session, user(session, "admin"))]

    add_decision(session, own, actor=idf, data=DecisionInput(
        kind="validation_projet", project_name="Ciné-jeunes", porteur="MJC"))
    entry = index_entry_for_meeting(session, own.id)
    assert (entry.id, entry.kind, entry.region, entry.status) == (f"meeting:{own.id}", "meeting", "11", "aucun")
    assert "Validation des projets" in entry.text and "Ciné-jeunes" in entry.text
    assert index_entry_for_meeting(session, national.id).region == "national"
    assert index_entry_for_meeting(session, 987654) is None
    entry.to_fields()  # the search module accepts it
