"""The personal, revocable tokens in the address of a feed (meetings calendar, deadlines calendar).

One lifecycle for each kind of feed: a new token replaces the live one, revoking is audited,
the page shows the live token's beginning, and a feed request finds the active owner of a live
token. Only the SHA-256 is stored (``documents.tokens``).
"""

from __future__ import annotations

from typing import Generic, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from documents import audit, tokens
from documents.db import utcnow
from documents.models import CalendarToken, DeadlineFeedToken, User

Token = TypeVar("Token", CalendarToken, DeadlineFeedToken)


class FeedTokens(Generic[Token]):
    """The tokens of one kind of feed: rows of ``model``, plaintexts starting with ``kind``."""

    def __init__(self, model: type[Token], *, kind: str, action: str, object_type: str) -> None:
        self.model: type[Token] = model
        self.kind = kind
        #: Audit actions are ``<action>_create`` and ``<action>_revoke``.
        self.action = action
        self.object_type = object_type

    def create(self, session: Session, user: User, *, ip: str = "") -> str:
        """A new token for ``user`` (the previous one stops working); the plaintext is returned once."""
        self.revoke(session, user, ip=ip)
        issued = tokens.new_token(self.kind)
        token = self.model(user_id=user.id, token_hash=issued.hash, prefix=issued.prefix)
        session.add(token)
        session.flush()
        audit.record(session, f"{self.action}_create", actor=user, object_type=self.object_type,
                     object_id=token.id, ip=ip)
        session.flush()
        return issued.plaintext

    def revoke(self, session: Session, user: User, *, ip: str = "") -> int:
        """Revoke ``user``'s live tokens (audited); how many were live."""
        live = session.scalars(select(self.model).where(self.model.user_id == user.id,
                                                        self.model.revoked_at.is_(None))).all()
        for token in live:
            token.revoked_at = utcnow()
            audit.record(session, f"{self.action}_revoke", actor=user, object_type=self.object_type,
                         object_id=token.id, ip=ip)
        session.flush()
        return len(live)

    def live(self, session: Session, user: User) -> Token | None:
        """``user``'s live token (its beginning and dates only), if any."""
        return session.scalar(select(self.model).where(self.model.user_id == user.id, self.model.revoked_at.is_(None))
                              .order_by(self.model.id.desc()).limit(1))

    def find(self, session: Session, plaintext: str) -> Token | None:
        """The live token ``plaintext`` names, when its owner is active; None otherwise (nothing tells why)."""
        if not tokens.plausible(plaintext, self.kind):
            return None
        token = session.scalar(select(self.model).where(self.model.token_hash == tokens.token_hash(plaintext)))
        if token is None or token.revoked_at is not None or token.user is None or not token.user.active:
            return None
        found: Token = token
        return found
