"""Accounts: users, their server-side sessions, API tokens and login attempts."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, String, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from documents.db import Base, utcnow


class Role(str, enum.Enum):
    """The four roles of the intranet."""

    ADMIN = "admin"
    NATIONAL = "national"
    REGIONAL = "regional"
    LECTEUR = "lecteur"

    @property
    def label(self) -> str:
        """French label shown in the interface."""
        return ROLE_LABELS[self]


ROLE_LABELS = {
    Role.ADMIN: "Administrateur",
    Role.NATIONAL: "Équipe nationale",
    Role.REGIONAL: "Équipe régionale",
    Role.LECTEUR: "Lecteur",
}


class User(Base):
    """A member of staff, or a read-only representative of a partner."""

    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(20), default=Role.REGIONAL.value)
    region_code: Mapped[str | None] = mapped_column(
        String(8), ForeignKey("region.code"), nullable=True
    )
    password_hash: Mapped[str] = mapped_column(String(255), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    password_changed_at: Mapped[dt.datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True
    )
    last_login_at: Mapped[dt.datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True
    )
    #: « Recevoir les alertes d'échéances par courriel » (profile; on unless the user unticks it).
    deadline_alerts: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())

    region = relationship("Region", lazy="joined")

    @property
    def role_enum(self) -> Role:
        """The role as an enum member."""
        return Role(self.role)

    @property
    def role_label(self) -> str:
        """French label of the role; a corrupt value is shown as is rather than crashing a page."""
        try:
            return Role(self.role).label
        except ValueError:
            return self.role

    @property
    def is_admin(self) -> bool:
        """True for administrators."""
        return self.role == Role.ADMIN.value

    @property
    def display_name(self) -> str:
        """Name if known, else e-mail."""
        return self.name or self.email


class UserSession(Base):
    """A server-side login session: the cookie only carries its random id.

    Keeping the session here is what lets logout, a password change or disabling an
    account kill a cookie that was copied before: a replayed cookie is refused.
    """

    __tablename__ = "user_session"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    ip: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(300), default="")

    user = relationship("User", lazy="joined")


class ApiToken(Base):
    """A personal API token; only its SHA-256 is kept."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    user = relationship("User", lazy="joined")


class LoginAttempt(Base):
    """One login attempt; counted across all worker processes to throttle guessing."""

    __tablename__ = "login_attempt"
    __table_args__ = (
        Index("ix_login_attempt_email_at", "email", "at"),
        Index("ix_login_attempt_ip_at", "ip", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    ip: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    success: Mapped[bool] = mapped_column(Boolean, default=False)


# Flask-Login's user protocol, written out here so that the domain needs no Flask import.
def _is_authenticated(self: User) -> bool:
    return True


User.is_authenticated = property(_is_authenticated)
User.is_anonymous = False
User.is_active = property(lambda self: bool(self.active))
User.get_id = lambda self: str(self.id)
