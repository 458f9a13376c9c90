"""Committees: steering committees, members, meetings, attendance, minutes, decisions, actions."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from documents.db import Base, utcnow


class _Labelled(str, enum.Enum):
    """A string enum whose members carry a French label."""

    @property
    def label(self) -> str:
        """French label shown in the interface."""
        return LABELS[self]


class CommitteeLevel(_Labelled):
    """National, regional or local steering committee."""

    NATIONAL = "national"
    REGIONAL = "regional"
    LOCAL = "local"


class MemberRole(_Labelled):
    """Role of a member in a committee."""

    PRESIDENT = "president"
    MEMBRE = "membre"
    INVITE = "invite"


class AttendanceStatus(_Labelled):
    """Whether an invited member came."""

    CONVOQUE = "convoque"
    PRESENT = "present"
    EXCUSE = "excuse"
    ABSENT = "absent"
    REPRESENTE = "represente"


class MeetingStatus(_Labelled):
    """A meeting is planned, or was cancelled."""

    PLANIFIEE = "planifiee"
    ANNULEE = "annulee"


class MinutesStatus(_Labelled):
    """Workflow of a meeting's minutes."""

    AUCUN = "aucun"
    BROUILLON = "brouillon"
    SOUMIS = "soumis"
    APPROUVE = "approuve"


class DecisionKind(_Labelled):
    """A plain decision, or the validation of a local project by a committee."""

    DECISION = "decision"
    VALIDATION_PROJET = "validation_projet"


class ActionStatus(_Labelled):
    """Progress of an action decided in a meeting."""

    A_FAIRE = "a_faire"
    EN_COURS = "en_cours"
    FAITE = "faite"
    ABANDONNEE = "abandonnee"


LABELS: dict[enum.Enum, str] = {
    CommitteeLevel.NATIONAL: "Comité de pilotage national",
    CommitteeLevel.REGIONAL: "Comité de pilotage régional",
    CommitteeLevel.LOCAL: "Comité local",
    MemberRole.PRESIDENT: "Président",
    MemberRole.MEMBRE: "Membre",
    MemberRole.INVITE: "Invité",
    AttendanceStatus.CONVOQUE: "Convoqué",
    AttendanceStatus.PRESENT: "Présent",
    AttendanceStatus.EXCUSE: "Excusé",
    AttendanceStatus.ABSENT: "Absent",
    AttendanceStatus.REPRESENTE: "Représenté",
    MeetingStatus.PLANIFIEE: "Planifiée",
    MeetingStatus.ANNULEE: "Annulée",
    MinutesStatus.AUCUN: "Pas de compte rendu",
    MinutesStatus.BROUILLON: "Brouillon",
    MinutesStatus.SOUMIS: "Soumis aux membres",
    MinutesStatus.APPROUVE: "Approuvé",
    DecisionKind.DECISION: "Décision",
    DecisionKind.VALIDATION_PROJET: "Validation de projet",
    ActionStatus.A_FAIRE: "À faire",
    ActionStatus.EN_COURS: "En cours",
    ActionStatus.FAITE: "Faite",
    ActionStatus.ABANDONNEE: "Abandonnée",
}


def _label(enum_type: type[_Labelled], value: str) -> str:
    try:
        return enum_type(value).label
    except ValueError:
        return value


class Committee(Base):
    """A steering committee: the national one, one per region, or a local one."""

    __tablename__ = "committee"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: Stable key of the committees created from the reference data ("national", "regional-11").
    slug: Mapped[str | None] = mapped_column(String(60), unique=True, nullable=True)
    name: Mapped[str] = mapped_column(String(300))
    level: Mapped[str] = mapped_column(String(20), index=True)
    region_code: Mapped[str | None] = mapped_column(
        String(8), ForeignKey("region.code"), nullable=True, index=True
    )
    #: Who chairs or convenes it: the CNC, the DRAC, a local coordination.
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisation.id", ondelete="SET NULL"), nullable=True
    )
    description: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), nullable=True
    )

    region = relationship("Region", lazy="joined")
    organisation = relationship("Organisation", lazy="joined")
    members: Mapped[list[CommitteeMember]] = relationship(
        back_populates="committee", order_by="CommitteeMember.id", cascade="all, delete-orphan",
        lazy="selectin",
    )

    @property
    def level_label(self) -> str:
        """French label of the level."""
        return _label(CommitteeLevel, self.level)

    @property
    def region_label(self) -> str:
        """Region name, or "National"."""
        return self.region.label if self.region is not None else "National"


class CommitteeMember(Base):
    """A member: an intranet user, or an external contact (name, organisation, e-mail)."""

    __tablename__ = "committee_member"
    __table_args__ = (UniqueConstraint("committee_id", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    committee_id: Mapped[int] = mapped_column(ForeignKey("committee.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), nullable=True, index=True
    )
    name: Mapped[str] = mapped_column(String(200), default="")
    organisation: Mapped[str] = mapped_column(String(300), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    role: Mapped[str] = mapped_column(String(20), default=MemberRole.MEMBRE.value)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    committee: Mapped[Committee] = relationship(back_populates="members")
    user = relationship("User", lazy="joined")

    @property
    def display_name(self) -> str:
        """The user's name, or the contact's name."""
        if self.user is not None:
            return str(self.user.display_name)
        return self.name or self.email

    @property
    def contact_email(self) -> str:
        """Where notifications go ("" when unknown)."""
        if self.user is not None:
            return self.user.email if self.user.active else ""
        return self.email

    @property
    def role_label(self) -> str:
        """French label of the role."""
        return _label(MemberRole, self.role)


class Meeting(Base):
    """One meeting of a committee, with its agenda, attendance, documents and minutes."""

    __tablename__ = "meeting"
    __table_args__ = (Index("ix_meeting_region_starts", "region_code", "starts_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    committee_id: Mapped[int] = mapped_column(ForeignKey("committee.id", ondelete="CASCADE"), index=True)
    #: Copied from the committee (which never changes region) so that scoping is one WHERE.
    region_code: Mapped[str | None] = mapped_column(String(8), ForeignKey("region.code"), nullable=True)
    title: Mapped[str] = mapped_column(String(300))
    starts_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    ends_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    place: Mapped[str] = mapped_column(String(500), default="")
    visio_url: Mapped[str] = mapped_column(String(500), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default=MeetingStatus.PLANIFIEE.value)
    #: iCalendar SEQUENCE: raised at each change so that calendars replace the event.
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    minutes_document_id: Mapped[int | None] = mapped_column(
        ForeignKey("document.id", ondelete="SET NULL"), nullable=True, index=True
    )
    minutes_status: Mapped[str] = mapped_column(String(20), default=MinutesStatus.AUCUN.value, index=True)
    minutes_submitted_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    minutes_submitted_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    #: The document version number the committee approved (kept when later versions are added).
    minutes_approved_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    minutes_approved_at: Mapped[dt.datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True, index=True
    )
    minutes_approved_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), nullable=True
    )
    duplicated_from_id: Mapped[int | None] = mapped_column(
        ForeignKey("meeting.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), nullable=True
    )

    committee: Mapped[Committee] = relationship(lazy="joined")
    region = relationship("Region", lazy="joined")
    minutes_document = relationship("Document", lazy="joined", foreign_keys=[minutes_document_id])
    minutes_approved_by = relationship("User", lazy="joined", foreign_keys=[minutes_approved_by_id])
    agenda: Mapped[list[AgendaItem]] = relationship(
        back_populates="meeting", order_by="AgendaItem.position", cascade="all, delete-orphan", lazy="selectin",
    )
    attendance: Mapped[list[Attendance]] = relationship(
        back_populates="meeting", order_by="Attendance.id", cascade="all, delete-orphan", lazy="selectin",
    )
    attachments: Mapped[list[MeetingDocument]] = relationship(
        back_populates="meeting", order_by="MeetingDocument.created_at", cascade="all, delete-orphan",
        lazy="selectin",
    )
    decisions: Mapped[list[Decision]] = relationship(
        back_populates="meeting", order_by="Decision.position", cascade="all, delete-orphan", lazy="selectin",
    )
    actions: Mapped[list[ActionItem]] = relationship(
        back_populates="meeting", order_by="ActionItem.id", cascade="all, delete-orphan", lazy="selectin",
    )
    comments: Mapped[list[MinutesComment]] = relationship(
        back_populates="meeting", order_by="MinutesComment.id", cascade="all, delete-orphan", lazy="selectin",
    )

    @property
    def status_label(self) -> str:
        """French label of the status."""
        return _label(MeetingStatus, self.status)

    @property
    def minutes_status_label(self) -> str:
        """French label of the minutes' workflow state."""
        return _label(MinutesStatus, self.minutes_status)

    @property
    def cancelled(self) -> bool:
        """True once cancelled."""
        return self.status == MeetingStatus.ANNULEE.value

    @property
    def region_label(self) -> str:
        """Region name, or "National"."""
        return self.region.label if self.region is not None else "National"


class AgendaItem(Base):
    """One point of the agenda, in order, with the notes taken on it."""

    __tablename__ = "meeting_agenda_item"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    title: Mapped[str] = mapped_column(String(500))
    notes: Mapped[str] = mapped_column(Text, default="")

    meeting: Mapped[Meeting] = relationship(back_populates="agenda")


class Attendance(Base):
    """An invitation to a meeting and whether the person came (or who represented them)."""

    __tablename__ = "meeting_attendance"
    __table_args__ = (UniqueConstraint("meeting_id", "member_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id", ondelete="CASCADE"), index=True)
    member_id: Mapped[int | None] = mapped_column(
        ForeignKey("committee_member.id", ondelete="SET NULL"), nullable=True
    )
    #: Snapshot of the member at invitation time, so that the record survives a removal.
    name: Mapped[str] = mapped_column(String(200))
    organisation: Mapped[str] = mapped_column(String(300), default="")
    role: Mapped[str] = mapped_column(String(20), default=MemberRole.MEMBRE.value)
    status: Mapped[str] = mapped_column(String(20), default=AttendanceStatus.CONVOQUE.value)
    represented_by: Mapped[str] = mapped_column(String(200), default="")
    #: A one-off guest of this meeting only (not a member of the committee); members' rows leave
    #: the address on the member, so that a changed address is used for the next mail.
    guest: Mapped[bool] = mapped_column(Boolean, default=False)
    email: Mapped[str] = mapped_column(String(254), default="")

    meeting: Mapped[Meeting] = relationship(back_populates="attendance")
    member = relationship("CommitteeMember", lazy="joined")

    @property
    def status_label(self) -> str:
        """French label, with the representative's name."""
        label = _label(AttendanceStatus, self.status)
        if self.status == AttendanceStatus.REPRESENTE.value and self.represented_by:
            return f"{label} par {self.represented_by}"
        return label

    @property
    def role_label(self) -> str:
        """French label of the role."""
        return _label(MemberRole, self.role)


class MeetingDocument(Base):
    """A document of the archive attached to a meeting (papers, presentations)."""

    __tablename__ = "meeting_document"

    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id", ondelete="CASCADE"), primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("document.id", ondelete="CASCADE"), primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), nullable=True
    )

    meeting: Mapped[Meeting] = relationship(back_populates="attachments")
    document = relationship("Document", lazy="joined")


class MinutesComment(Base):
    """A member's comment on submitted minutes; comments are never deleted."""

    __tablename__ = "minutes_comment"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id", ondelete="CASCADE"), index=True)
    #: The document version the comment was made on.
    version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), nullable=True
    )
    author_name: Mapped[str] = mapped_column(String(200), default="")
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    meeting: Mapped[Meeting] = relationship(back_populates="comments")


class Decision(Base):
    """A decision of a meeting; a project validation also names the project and where it runs."""

    __tablename__ = "meeting_decision"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    kind: Mapped[str] = mapped_column(String(30), default=DecisionKind.DECISION.value, index=True)
    text: Mapped[str] = mapped_column(Text)
    project_name: Mapped[str] = mapped_column(String(300), default="")
    porteur: Mapped[str] = mapped_column(String(300), default="")
    commune: Mapped[str] = mapped_column(String(200), default="")
    quartier_code: Mapped[str | None] = mapped_column(
        String(20), ForeignKey("quartier.code", ondelete="SET NULL"), nullable=True
    )
    actions_concerned: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), nullable=True
    )

    meeting: Mapped[Meeting] = relationship(back_populates="decisions")
    quartier = relationship("Quartier", lazy="joined")

    @property
    def kind_label(self) -> str:
        """French label of the kind."""
        return _label(DecisionKind, self.kind)


class ActionItem(Base):
    """An action decided in a meeting: who does it, by when, and where it stands."""

    __tablename__ = "meeting_action"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id", ondelete="CASCADE"), index=True)
    decision_id: Mapped[int | None] = mapped_column(
        ForeignKey("meeting_decision.id", ondelete="SET NULL"), nullable=True
    )
    title: Mapped[str] = mapped_column(Text)
    owner: Mapped[str] = mapped_column(String(200), default="")
    due_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True, index=True)
    status: Mapped[str] = mapped_column(String(20), default=ActionStatus.A_FAIRE.value, index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    meeting: Mapped[Meeting] = relationship(back_populates="actions")

    @property
    def status_label(self) -> str:
        """French label of the status."""
        return _label(ActionStatus, self.status)

    @property
    def open(self) -> bool:
        """True while the action is still to be done."""
        return self.status in (ActionStatus.A_FAIRE.value, ActionStatus.EN_COURS.value)


class CalendarToken(Base):
    """A personal, revocable secret for the calendar and Atom feeds; only its SHA-256 is kept."""

    __tablename__ = "calendar_token"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    user = relationship("User", lazy="joined")
