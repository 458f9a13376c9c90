"""Amounts of the four funding lines of an agreement: validation, entry, and the draft's values.

A convention (and its avenants, and a contrat d'objectifs) details the means granted on four
lines. An amount is a ``Decimal`` in euros with two decimals, from 0 up to (not including)
``MAX_AMOUNT``; it is stored in cents. A line somebody entered wins; a line nobody entered
falls back to the value typed in the draft the agreement was generated from (the drafting
provenance, ``Generation.input_values``), so a generated convention shows its amounts at once.

On an avenant, an amount is the **new** amount of its line (« le montant est porté à … »), not
a difference; a line left empty stays as the convention had it (see ``timeline``).

A signed agreement is locked (``documents.locking``): a line that has no amount yet may still be
recorded (the signed paper says it), but an amount already known is not changed or cleared
until an administrator unlocks the document.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from documents import audit, locking, permissions
from documents.bounds import has_nul
from documents.db import utcnow
from documents.errors import PermissionDenied, ValidationError
from documents.formatting import MAX_AMOUNT as _FORMAT_MAX
from documents.formatting import format_amount, parse_amount
from documents.models import AgreementAmount, DocType, Document, Generation, User

__all__ = [
    "AGREEMENT_TYPES", "LINES", "LINE_KEYS", "MAX_AMOUNT", "AgreementAmounts", "Line", "amounts_for", "amounts_of",
    "amount_json", "draft_values", "french_decimal", "is_agreement", "parse_line_amount", "set_amounts",
]


@dataclass(frozen=True)
class Line:
    """One funding line: its key (API, CLI, database), its French label, its drafting field."""

    key: str
    label: str
    field: str


#: The four lines, in the order of the conventions.
LINES: tuple[Line, ...] = (
    Line("mission_coordination", "Mission de coordination régionale", "montant_mission_coordination"),
    Line("projets_coordination", "Projets mis en œuvre par la coordination", "montant_projets_coordination"),
    Line("formation", "Formation et recherche pédagogique", "montant_formation"),
    Line("sensibilisation", "Sensibilisation et développement sur le terrain", "montant_sensibilisation"),
)
LINE_KEYS: tuple[str, ...] = tuple(line.key for line in LINES)
_BY_KEY = {line.key: line for line in LINES}

#: Documents that carry amounts.
AGREEMENT_TYPES: tuple[str, ...] = (DocType.CONVENTION.value, DocType.AVENANT.value, DocType.CONTRAT_OBJECTIFS.value)

#: Largest amount of one line (the drafting forms refuse anything from ``formatting.MAX_AMOUNT`` on).
MAX_AMOUNT = _FORMAT_MAX - Decimal("0.01")
_CENT = Decimal("0.01")
#: Longest text accepted for one amount (« 999 999 999 999,99 € » and some spaces).
_MAX_TEXT = 40

SOURCE_ENTERED = "saisi"
SOURCE_DRAFT = "brouillon"


def is_agreement(document: Document) -> bool:
    """True for a convention, an avenant or a contrat d'objectifs."""
    return document.doc_type in AGREEMENT_TYPES


# --------------------------------------------------------------------------- parsing


def parse_line_amount(value: object, *, label: str = "Le montant") -> Decimal | None:
    """An amount as typed (« 12 500,50 », "12500.50", 12500, 12500.5), or None for an empty value.

    Refused with a French message (ValueError): negative, over ``MAX_AMOUNT``, more than two
    decimals, a NUL character, not a number.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"{label} doit être un nombre en euros, par exemple 12 500,50.")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{label} doit être un nombre en euros, par exemple 12 500,50.")
        # repr is the shortest text that reads back as this float: 12500.5, never 12500.4999…
        amount = Decimal(repr(value))
    elif isinstance(value, int):
        amount = Decimal(value)
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{label} doit être un nombre en euros, par exemple 12 500,50.")
        amount = value
    elif isinstance(value, str):
        if has_nul(value):
            raise ValueError("Caractère nul (\\0) refusé.")
        if not value.strip():
            return None
        if len(value) > _MAX_TEXT:
            raise ValueError(f"{label} est trop long : saisissez un nombre en euros, par exemple 12 500,50.")
        try:
            amount = parse_amount(value)
        except ValueError as exc:
            raise ValueError(str(exc)) from None
    else:
        raise ValueError(f"{label} doit être un nombre en euros, par exemple 12 500,50.")
    if amount < 0:
        raise ValueError(f"{label} ne peut pas être négatif.")
    if amount > MAX_AMOUNT:
        raise ValueError(f"{label} est trop grand (au plus {format_amount(MAX_AMOUNT, plain_spaces=True)}).")
    try:
        if amount != amount.quantize(_CENT):
            raise ValueError(f"{label} a plus de deux chiffres après la virgule (les centimes s'écrivent "
                             "avec deux chiffres au plus).")
        return amount.quantize(_CENT)
    except InvalidOperation:
        raise ValueError(f"{label} est trop grand.") from None


def clean_amounts(values: Mapping[str, object]) -> dict[str, Decimal | None]:
    """Each given line's amount (None: empty); ValidationError naming every refused line."""
    errors: dict[str, str] = {}
    cleaned: dict[str, Decimal | None] = {}
    for key, raw in values.items():
        if has_nul(key) or key not in _BY_KEY:
            shown = "?" if has_nul(key) else str(key)[:40]
            errors[shown] = "Ligne inconnue : " + ", ".join(LINE_KEYS) + "."
            continue
        try:
            cleaned[key] = parse_line_amount(raw, label=f"Le montant « {_BY_KEY[key].label} »")
        except ValueError as exc:
            errors[key] = str(exc)
    if errors:
        raise ValidationError("Certains montants sont invalides : " + " ".join(errors.values()), errors=errors)
    return cleaned


def draft_values(input_values: Mapping[str, Any] | None) -> dict[str, Decimal]:
    """The four lines as typed in a draft's form (``Generation.input_values``); unreadable ones are left out."""
    found: dict[str, Decimal] = {}
    if not isinstance(input_values, Mapping):
        return found
    for line in LINES:
        raw = input_values.get(line.field)
        if isinstance(raw, (str, int)) and not isinstance(raw, bool):
            try:
                amount = parse_line_amount(raw)
            except ValueError:
                continue
            if amount is not None:
                found[line.key] = amount
    return found


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class LineAmount:
    """The amount of one line and where it comes from (« saisi », « brouillon »), or None."""

    line: Line
    amount: Decimal | None
    source: str | None


@dataclass(frozen=True)
class AgreementAmounts:
    """An agreement's amounts: those entered, and those of the draft it was generated from."""

    document_id: int
    entered: dict[str, Decimal] = field(default_factory=dict)
    drafted: dict[str, Decimal] = field(default_factory=dict)

    def value(self, key: str) -> Decimal | None:
        """The amount of line ``key``: entered first, then the draft's."""
        if key in self.entered:
            return self.entered[key]
        return self.drafted.get(key)

    @property
    def values(self) -> dict[str, Decimal | None]:
        """Every line's amount (None when unknown)."""
        return {key: self.value(key) for key in LINE_KEYS}

    @property
    def lines(self) -> list[LineAmount]:
        """The four lines in order, with their source."""
        out = []
        for line in LINES:
            source = SOURCE_ENTERED if line.key in self.entered else SOURCE_DRAFT if line.key in self.drafted \
                else None
            out.append(LineAmount(line=line, amount=self.value(line.key), source=source))
        return out

    @property
    def total(self) -> Decimal | None:
        """Sum of the known lines, or None when no line is known."""
        known = [v for v in self.values.values() if v is not None]
        return sum(known, Decimal("0.00")) if known else None

    @property
    def empty(self) -> bool:
        """True when no line is known."""
        return not self.entered and not self.drafted


def amounts_for(session: Session, documents: Select[Any] | Iterable[int]) -> dict[int, AgreementAmounts]:
    """Amounts of many documents at once, by id: ``documents`` is a select of ids or a list of ids."""
    if isinstance(documents, Select):
        condition = AgreementAmount.document_id.in_(documents)
        generation_condition = Generation.document_id.in_(documents)
    else:
        ids = sorted(set(documents))
        if not ids:
            return {}
        condition = AgreementAmount.document_id.in_(ids)
        generation_condition = Generation.document_id.in_(ids)
    entered: dict[int, dict[str, Decimal]] = {}
    for doc_id, line, cents in session.execute(
            select(AgreementAmount.document_id, AgreementAmount.line, AgreementAmount.amount_cents).where(condition)):
        if line in _BY_KEY:
            entered.setdefault(doc_id, {})[line] = (Decimal(cents) / 100).quantize(_CENT)
    drafted: dict[int, dict[str, Decimal]] = {}
    # The latest generation of each document speaks for it (a later version typed other amounts).
    for doc_id, values in session.execute(
            select(Generation.document_id, Generation.input_values).where(generation_condition)
            .order_by(Generation.document_id, Generation.version_number, Generation.id)):
        drafted[doc_id] = draft_values(values)
    return {doc_id: AgreementAmounts(doc_id, entered.get(doc_id, {}), drafted.get(doc_id, {}))
            for doc_id in set(entered) | set(drafted)}


def amounts_of(session: Session, document: Document) -> AgreementAmounts:
    """One document's amounts (empty when none is known)."""
    return amounts_for(session, [document.id]).get(document.id, AgreementAmounts(document.id))


# --------------------------------------------------------------------------- the verb


def set_amounts(session: Session, document: Document, *, actor: User | None, amounts: Mapping[str, object],
                ip: str = "") -> AgreementAmounts:
    """Enter or correct some lines of an agreement's amounts (a line given empty goes back to unknown).

    Only the lines in ``amounts`` change. Refused: another region's document, a read-only account,
    a document that is not an agreement or is in the trash, and, on a locked (signed) agreement,
    changing an amount already known. Audited with each line's old and new amounts.
    """
    if not permissions.can_write_region(actor, document.region_code):
        raise PermissionDenied("Vous ne pouvez pas modifier les documents de cette région.")
    if not is_agreement(document):
        raise ValidationError("Les montants ne s'enregistrent que sur une convention, un avenant ou un "
                              "contrat d'objectifs : changez d'abord le type du document.",
                              errors={"type": "Convention, avenant ou contrat d'objectifs attendu."})
    if document.in_trash:
        raise ValidationError("Ce document est dans la corbeille : restaurez-le d'abord.")
    cleaned = clean_amounts(amounts)
    before = amounts_of(session, document)
    rows = {row.line: row for row in session.scalars(
        select(AgreementAmount).where(AgreementAmount.document_id == document.id))}
    changes: dict[str, str] = {}
    shown_after: dict[str, Decimal | None] = {}
    for key, new in cleaned.items():
        if new == before.entered.get(key):
            continue
        if key not in before.entered and new == before.drafted.get(key):
            continue  # the draft's own value typed again (a form sends every line back): nothing changes
        # Clearing an entered line brings back the draft's value, if the agreement was generated.
        shown_after[key] = new if new is not None else before.drafted.get(key)
        changes[key] = f"{_plain(before.value(key))} → {_plain(shown_after[key])}"
    if not changes:
        return before
    if locking.is_locked(session, document):
        touched = [key for key in changes if before.value(key) is not None and shown_after[key] != before.value(key)]
        if touched:
            names = ", ".join(f"« {_BY_KEY[key].label} »" for key in touched)
            raise locking.LockedDocument(
                f"Ce document est verrouillé ({locking.lock_reason(session, document)}) : un montant déjà "
                f"connu ne change plus ({names}) ; les lignes encore vides peuvent être complétées. "
                "Un avenant porte les nouveaux montants ; un administrateur peut aussi déverrouiller le "
                "document en indiquant un motif.",
                errors={key: "Montant verrouillé." for key in touched})
    for key, new in cleaned.items():
        if key not in changes:
            continue
        row = rows.get(key)
        if new is None:
            if row is not None:
                session.delete(row)
            continue
        cents = int(new * 100)
        if row is None:
            session.add(AgreementAmount(document_id=document.id, line=key, amount_cents=cents,
                                        updated_by_id=actor.id if actor else None))
        else:
            row.amount_cents = cents
            row.updated_by_id = actor.id if actor else None
            row.updated_at = utcnow()
    audit.record(session, "document.amounts", actor=actor, object_type="document", object_id=document.id,
                 region_code=document.region_code, ip=ip, details=changes)
    session.flush()
    return amounts_of(session, document)


def _plain(amount: Decimal | None) -> str:
    return "—" if amount is None else french_decimal(amount)


# --------------------------------------------------------------------------- output


def french_decimal(amount: Decimal) -> str:
    """« 12500,50 »: a comma, no thousands separator (what a French spreadsheet reads as a number)."""
    return f"{amount.quantize(_CENT):f}".replace(".", ",")


def amount_json(amount: Decimal | None) -> str | None:
    """An amount for JSON: a decimal string with two decimals (« 12500.50 »), exact unlike a float."""
    return None if amount is None else f"{amount.quantize(_CENT):f}"
