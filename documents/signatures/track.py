"""Where a document stands in its signature track: steps done, the next one, who still has to sign.

Reading only: the verbs that change the track are in ``documents.signatures.operations``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from documents.errors import DomainError
from documents.frenchtext import by_name
from documents.models import DocStatus, DocType, Document, Organisation, OrganisationKind, SignatureStep, StepKind

#: Types that go through the signature track.
SIGNABLE_TYPES = (DocType.CONVENTION.value, DocType.AVENANT.value, DocType.CONTRAT_OBJECTIFS.value,
                  DocType.PROTOCOLE.value)
#: Steps after the sending, in order, for every signable type but the protocole.
BILATERAL_STEPS = (StepKind.COORDINATION, StepKind.DRAC)


class SignatureError(DomainError):
    """The step asked for does not fit where the track stands (wrong order, already signed…): 409."""

    status = 409


def track_url(base_url: str, document_id: int) -> str:
    """The address of a document's signature track on the intranet at ``base_url`` ("" without one)."""
    return f"{base_url.rstrip('/')}/documents/{document_id}#signature" if base_url else ""


def is_signable(document: Document) -> bool:
    """True for a convention, an avenant, a contrat d'objectifs or a protocole."""
    return document.doc_type in SIGNABLE_TYPES


def step_label(kind: StepKind, document: Document, organisation: Organisation | None = None,
               signatory: str = "") -> str:
    """French label of a step of ``document`` (« Signé par la DRAC », « Signé par CNC »…)."""
    if kind is StepKind.DRAC and document.region_code is None:
        # A national agreement (contrat d'objectifs with the coordination nationale) is signed by the State.
        return "Signé par l'État"
    if kind is StepKind.SIGNATAIRE:
        name = (organisation.short_name or organisation.name) if organisation is not None else signatory
        return f"Signé par {name}" if name else kind.label
    return kind.label


def national_signatories(session: Session, document: Document, *,
                          current: list[Organisation] | None = None) -> list[Organisation]:
    """Who signs a protocole: its parties that are national signatories, else every current one.

    ``current`` is ``current_signatories(session)`` when the caller reads many protocoles at once.
    """
    own = [p for p in document.parties if p.kind == OrganisationKind.SIGNATAIRE.value]
    if own:
        return by_name(own, lambda o: o.short_name or o.name)
    return list(current) if current is not None else current_signatories(session)


def current_signatories(session: Session) -> list[Organisation]:
    """The national signatories of the référentiel still in office, in French order."""
    current = session.scalars(select(Organisation).where(Organisation.kind == OrganisationKind.SIGNATAIRE.value,
                                                         Organisation.valid_until.is_(None)))
    return by_name(current, lambda o: o.short_name or o.name)


@dataclass(frozen=True)
class NextStep:
    """The step the track waits for."""

    kind: StepKind
    label: str
    #: True when recording this step signs the document (the signed scan is then required).
    final: bool
    #: For a protocole: the national signatories who have not signed yet.
    signatories: tuple[Organisation, ...] = ()


@dataclass
class Track:
    """The signature track of one document."""

    document: Document
    #: Number of the current cycle (a new one once a track was returned to draft).
    cycle: int
    #: Steps of the current cycle, oldest first (empty before the sending).
    steps: list[SignatureStep]
    #: Every step of every cycle, oldest first.
    history: list[SignatureStep] = field(default_factory=list)
    next: NextStep | None = None

    @property
    def open(self) -> bool:
        """True while the document waits for a signature."""
        return bool(self.steps) and self.document.status == DocStatus.EN_SIGNATURE.value

    @property
    def signed(self) -> bool:
        """True once the last signature of this cycle is recorded."""
        return bool(self.steps) and self.document.status == DocStatus.SIGNE.value

    @property
    def since(self) -> dt.date | None:
        """Day of the last step: the wait is counted from it."""
        return self.steps[-1].step_date if self.steps else None

    @property
    def sending(self) -> SignatureStep | None:
        """The « envoi » step of the current cycle."""
        return next((s for s in self.steps if s.kind == StepKind.ENVOI.value), None)

    @property
    def last_date(self) -> dt.date | None:
        """Day of the latest step of any cycle: no step may be dated before it."""
        return max((s.step_date for s in self.history), default=None)


def steps_of(session: Session, document_ids: Iterable[int]) -> dict[int, list[SignatureStep]]:
    """Every step of these documents, oldest first, by document (one query)."""
    ids = sorted(set(document_ids))
    out: dict[int, list[SignatureStep]] = {i: [] for i in ids}
    if ids:
        for step in session.scalars(select(SignatureStep).where(SignatureStep.document_id.in_(ids))
                                    .order_by(SignatureStep.document_id, SignatureStep.cycle, SignatureStep.seq)):
            out[step.document_id].append(step)
    return out


def current_cycle(document: Document, history: list[SignatureStep]) -> tuple[int, list[SignatureStep]]:
    """(cycle number, its steps): the last cycle while it is open or signed, else a new empty one."""
    if not history:
        return 1, []
    last = history[-1].cycle
    steps = [s for s in history if s.cycle == last]
    running = document.status in (DocStatus.EN_SIGNATURE.value, DocStatus.SIGNE.value)
    if steps[-1].kind == StepKind.RETOUR.value or not running:
        # Returned to draft, or its status was changed by hand: the next sending opens a new cycle.
        return last + 1, []
    return last, steps


def build(session: Session, document: Document, history: list[SignatureStep], *,
          signatories: list[Organisation] | None = None) -> Track:
    """The track of ``document`` from its steps (``signatories``: see ``national_signatories``)."""
    cycle, steps = current_cycle(document, history)
    track = Track(document=document, cycle=cycle, steps=steps, history=history)
    if not is_signable(document) or document.in_trash:
        return track
    if not steps:
        if document.status in (DocStatus.BROUILLON.value, DocStatus.EN_SIGNATURE.value):
            track.next = NextStep(StepKind.ENVOI, StepKind.ENVOI.label, final=False)
        return track
    if document.status != DocStatus.EN_SIGNATURE.value:
        return track
    if document.doc_type == DocType.PROTOCOLE.value:
        signed = {s.organisation_id for s in steps if s.kind == StepKind.SIGNATAIRE.value}
        remaining = tuple(o for o in national_signatories(session, document, current=signatories)
                          if o.id not in signed)
        if remaining:
            track.next = NextStep(StepKind.SIGNATAIRE, "Signé par un signataire national",
                                  final=len(remaining) == 1, signatories=remaining)
        return track
    done = {s.kind for s in steps}
    for kind in BILATERAL_STEPS:
        if kind.value not in done:
            track.next = NextStep(kind, step_label(kind, document), final=kind is BILATERAL_STEPS[-1])
            break
    return track


def track_of(session: Session, document: Document) -> Track:
    """The signature track of ``document`` (its steps, the next one)."""
    return build(session, document, steps_of(session, [document.id])[document.id])
