"""« Mon tableau de bord »: what waits for one user, in typed sections, from bounded queries.

``what_waits`` is the one place that assembles the home page's sections; a feature adds its
section there (a function returning a ``Section``). Each section carries its items (a few),
its total (capped: « 100+ ») and its empty-state sentence; the page links each figure to its
full list. Every query is scoped by the user's role and region, as the lists it summarises.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import cast

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from documents import permissions
from documents.deadline_lists import overdue_deadlines, upcoming_deadlines
from documents.listing import recently_modified
from documents.models import (
    ActionItem,
    ActionStatus,
    CommitteeMember,
    Document,
    Meeting,
    MinutesStatus,
    User,
)
from documents.regions import covered_codes

#: Items shown per section, and the count above which a figure reads « 100+ ».
SHOWN = 5
CAP = 100
#: How far « Échéances à venir » looks ahead (days).
UPCOMING_DAYS = 30


@dataclass(frozen=True)
class Item:
    """One line of a section: what it is about, where it leads, and one line of context."""

    title: str
    #: « document », « meeting », « action » or « signature »: the page turns it into a link.
    kind: str
    object_id: int
    meta: str = ""
    date: dt.date | None = None
    urgent: bool = False
    #: For actions: the meeting they were decided in.
    meeting_id: int | None = None


@dataclass(frozen=True)
class Section:
    """A card of the dashboard."""

    key: str
    title: str
    items: list[Item]
    total: int
    empty: str
    #: True when ``total`` reached the cap (the page says « 100+ »).
    capped: bool = False
    #: True for alarming sections (dates passed): the figure shows in red.
    alert: bool = False
    #: Short label of the figure (« dépassées »).
    figure: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def total_label(self) -> str:
        """The figure as shown: « 7 » or « 100+ »."""
        return f"{CAP}+" if self.capped else str(self.total)


def _days(n: int) -> str:
    return f"{n} jour{'s' if abs(n) > 1 else ''}"


def overdue_section(session: Session, user: User | None, today: dt.date) -> Section:
    """Échéances passed without a recorded outcome, in the user's scope."""
    rows = overdue_deadlines(session, user, today=today, limit=CAP + 1)
    items = [Item(title=r.document.title, kind="document", object_id=r.document.id, date=r.deadline.date,
                  meta=f"{r.deadline.label} : dépassée depuis {_days(-r.days_left)}", urgent=True)
             for r in rows[:SHOWN]]
    return Section(key="overdue", title="Échéances dépassées sans suite", items=items, total=min(len(rows), CAP),
                   capped=len(rows) > CAP, alert=bool(rows), figure="échéances dépassées",
                   empty="Aucune échéance dépassée sans suite.")


def upcoming_section(session: Session, user: User | None, today: dt.date) -> Section:
    """Échéances, reconductions and préavis of the next 30 days, in the user's scope."""
    rows = [r for r in upcoming_deadlines(session, user, today=today, days=UPCOMING_DAYS, limit=CAP + 1)
            if r.handling is None]
    items = [Item(title=r.document.title, kind="document", object_id=r.document.id, date=r.deadline.date,
                  meta=(f"{r.deadline.label} : aujourd'hui" if r.days_left == 0
                        else f"{r.deadline.label} : dans {_days(r.days_left)}"), urgent=r.days_left <= 7)
             for r in rows[:SHOWN]]
    return Section(key="upcoming", title=f"Échéances à {UPCOMING_DAYS} jours", items=items,
                   total=min(len(rows), CAP), capped=len(rows) > CAP, figure=f"échéances à {UPCOMING_DAYS} jours",
                   empty=f"Aucune échéance dans les {UPCOMING_DAYS} prochains jours.")


def _writable_meetings(user: User) -> ColumnElement[bool]:
    """SQL condition: meetings whose region ``user`` may change (approving minutes needs it)."""
    if permissions.is_admin(user) or user.role == "national":
        return Meeting.id.is_not(None)
    if user.role == "regional" and user.region_code:
        return Meeting.region_code.in_(sorted(covered_codes(user.region_code)))
    return Meeting.id.is_(None)


def minutes_section(session: Session, user: User | None, today: dt.date) -> Section:
    """Submitted minutes the user approves (staff of the committee's region) or reviews (members)."""
    from documents.committees.scope import can_manage, visible_meetings

    if user is None:
        return Section(key="minutes", title="Comptes rendus à relire ou approuver", items=[], total=0,
                       empty="Aucun compte rendu en attente.", figure="comptes rendus en attente")
    member_of = select(CommitteeMember.committee_id).where(CommitteeMember.user_id == user.id)
    stmt = visible_meetings(user).where(Meeting.minutes_status == MinutesStatus.SOUMIS.value,
                                        or_(Meeting.committee_id.in_(member_of), _writable_meetings(user)))
    total = int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    # ``visible_meetings`` is annotated as a select of 1-tuples; its scalars are meetings.
    meetings = cast("list[Meeting]", list(session.scalars(stmt.order_by(Meeting.minutes_submitted_at, Meeting.id)
                                                           .limit(SHOWN))))
    items = []
    for m in meetings:
        verb = "à approuver" if can_manage(user, m) else "à relire"
        since = m.minutes_submitted_at.date() if m.minutes_submitted_at else None
        waited = f", soumis il y a {_days((today - since).days)}" if since and since < today else ""
        items.append(Item(title=m.title, kind="meeting", object_id=m.id, date=since,
                          meta=f"{m.committee.name} — {verb}{waited}"))
    return Section(key="minutes", title="Comptes rendus à relire ou approuver", items=items, total=min(total, CAP),
                   capped=total > CAP, figure="comptes rendus en attente", empty="Aucun compte rendu en attente.")


def _mine(user: User) -> ColumnElement[bool]:
    """SQL condition: the action's « responsable » names this user (name or e-mail, any case)."""
    names = {n.strip().lower() for n in (user.name or "", user.email or "") if n and n.strip()}
    if not names:
        return ActionItem.id.is_(None)
    return func.lower(func.trim(ActionItem.owner)).in_(sorted(names))


def actions_section(session: Session, user: User | None, today: dt.date) -> Section:
    """Open actions decided in committees whose « responsable » is the user, soonest due first."""
    from documents.committees.scope import visible_meetings

    if user is None:
        return Section(key="actions", title="Mes actions", items=[], total=0, empty="Aucune action à votre nom.",
                       figure="actions à mon nom")
    visible = visible_meetings(user).with_only_columns(Meeting.id)
    stmt = select(ActionItem).where(ActionItem.meeting_id.in_(visible), _mine(user),
                                    ActionItem.status.in_((ActionStatus.A_FAIRE.value, ActionStatus.EN_COURS.value)))
    total = int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    rows = session.scalars(stmt.order_by(ActionItem.due_date.is_(None), ActionItem.due_date, ActionItem.id)
                           .limit(SHOWN)).all()
    items = []
    for a in rows:
        late = a.due_date is not None and a.due_date < today
        when = ("sans échéance" if a.due_date is None else
                f"en retard de {_days((today - a.due_date).days)}" if late else
                f"à faire d'ici {_days((a.due_date - today).days)}" if a.due_date > today else "pour aujourd'hui")
        items.append(Item(title=a.title, kind="action", object_id=a.id, date=a.due_date, urgent=late,
                          meta=f"{a.meeting.title} — {when}", meeting_id=a.meeting_id))
    return Section(key="actions", title="Mes actions", items=items, total=min(total, CAP), capped=total > CAP,
                   alert=any(i.urgent for i in items), figure="actions à mon nom",
                   empty="Aucune action ouverte à votre nom.")


def signatures_section(session: Session, user: User | None, today: dt.date) -> Section:
    """« Signatures en attente »: agreements of the user's scope out for signature, the longest wait first.

    A document whose wait passed its type's reminder delay is urgent (the reminder has gone or goes today).
    """
    from documents.signatures import awaiting_signature, reminder_delays

    if user is None:
        return Section(key="signatures", title="Signatures en attente", items=[], total=0,
                       figure="signatures en attente", empty="Aucune signature en attente.")
    rows = awaiting_signature(session, user, today=today, limit=CAP + 1)
    delays = reminder_delays(None)
    items = []
    for row in rows[:SHOWN]:
        late = row.days >= delays.get(row.document.doc_type, max(delays.values()))
        who = f" (envoyé à {row.with_whom})" if row.with_whom else ""
        items.append(Item(title=row.document.title, kind="signature", object_id=row.document.id, date=row.since,
                          meta=f"{row.next} attendue depuis {_days(row.days)}{who}", urgent=late))
    return Section(key="signatures", title="Signatures en attente", items=items, total=min(len(rows), CAP),
                   capped=len(rows) > CAP, alert=any(i.urgent for i in items), figure="signatures en attente",
                   empty="Aucune signature en attente.")


def what_waits(session: Session, user: User | None, today: dt.date) -> list[Section]:
    """Every section of the user's dashboard, in page order (a feature adds its section here)."""
    return [
        overdue_section(session, user, today),
        upcoming_section(session, user, today),
        minutes_section(session, user, today),
        actions_section(session, user, today),
        signatures_section(session, user, today),
    ]


def recent_documents(session: Session, user: User | None, *, limit: int = 6) -> list[Document]:
    """The documents of the user's scope changed last (drafting models left out)."""
    return recently_modified(session, user, limit=limit, include_models=False)
