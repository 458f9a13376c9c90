"""Document suggestions for the pickers: a few documents whose title (or number) matches what was typed.

The picker that chooses the document to link, in the browser and without JavaScript, asks here.
Every query starts from ``archive.visible_documents(user)``: the regional scope is applied in SQL
before matching, so a suggestion never reveals a document the user may not read. Drafting models
and the trash are left out. Typing is forgiving: case and accents are ignored (``frenchtext.fold``, the fold of the French
sort order), on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from documents.archive import visible_documents
from documents.bounds import MAX_ID
from documents.deadline_lists import opaque
from documents.errors import ValidationError
from documents.frenchtext import fold
from documents.listing import is_drafting_model
from documents.models import DocType, Document, User
from documents.regions import covered_codes

#: ``within`` value for national documents only (a national committee's meeting).
NATIONAL_ONLY = "national"

#: Fewest characters worth a query (one letter would match most of the archive).
MIN_CHARS = 2
#: Longest query accepted (a title is at most 500 characters; nobody types more than this).
MAX_CHARS = 200
#: Words of the query that count (each must appear in the title).
MAX_WORDS = 6
#: Suggestions given by default, and at most.
DEFAULT_LIMIT, MAX_LIMIT = 10, 20
#: Candidate rows read per batch, and at most (a bound on one query's work, far above any real archive's need).
BATCH, MAX_SCANNED = 500, 100_000

@dataclass(frozen=True)
class Suggestion:
    """One suggested document, with what a picker shows of it."""

    id: int
    title: str
    type_label: str
    region_label: str
    year: int | None

    @property
    def label(self) -> str:
        """« n° 12 – Convention … (Convention, Île-de-France, 2025) », as the choosing list shows it."""
        details = ", ".join([self.type_label, self.region_label] + ([str(self.year)] if self.year else []))
        return f"n° {self.id} – {self.title} ({details})"


def _like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def clean_query(raw: str | None) -> str:
    """The query trimmed, or ValidationError (French) if it is too short, too long or holds a NUL.

    A document number may be a single digit; words need ``MIN_CHARS`` characters.
    """
    text = " ".join((raw or "").split())
    if "\x00" in text:
        raise ValidationError("Caractère nul refusé.", errors={"q": "Caractère nul refusé."})
    if len(text) < MIN_CHARS and not (text.isascii() and text.isdigit()):
        message = f"Tapez au moins {MIN_CHARS} caractères du titre ou le numéro du document."
        raise ValidationError(message, errors={"q": message})
    if len(text) > MAX_CHARS:
        message = f"Recherche trop longue : {MAX_CHARS} caractères au plus."
        raise ValidationError(message, errors={"q": message})
    return text


#: Folded letters that stand for an accented one in titles (œ and æ are written out as two letters).
_MAY_BE_ACCENTED = set("aceiouy")


def _rough(word: str) -> str:
    """An ILIKE pattern on the plain title that every title whose fold holds ``word`` matches."""
    out = []
    for part in word.replace("oe", "\x00").replace("ae", "\x00").split("\x00"):
        out.append("".join("_" if c in _MAY_BE_ACCENTED else _like(c) for c in part))
    return "%" + "%".join(out) + "%"


def _within(within: str | None) -> list[ColumnElement[bool]]:
    """Only national documents and those of region ``within`` (or of a region it replaced);
    ``NATIONAL_ONLY``: national documents only; None: no restriction beyond the user's scope."""
    if within is None:
        return []
    codes = sorted(covered_codes(within)) if within != NATIONAL_ONLY else []
    return [or_(Document.region_code.is_(None), Document.region_code.in_(codes)) if codes
            else Document.region_code.is_(None)]


def suggest_documents(session: Session, user: User | None, query: str, *, limit: int = DEFAULT_LIMIT,
                      exclude_id: int | None = None, within: str | None = None) -> list[Suggestion]:
    """Up to ``limit`` documents ``user`` may read whose title holds every word of ``query`` (or whose number it is).

    ``within`` narrows to what may be attached to a committee's meeting: a region code (that region, the
    regions it replaced, and national documents) or ``NATIONAL_ONLY``.
    """
    text = clean_query(query)
    limit = max(1, min(limit, MAX_LIMIT))
    words = fold(text).lower().split()[:MAX_WORDS]
    # The database narrows with a rough pattern per word on the plain title (each letter that may carry
    # an accent is any one character; digits and other letters as typed), in scope, newest first; the
    # exact test (``fold``, the one of the French sort order) runs here on those rows, read in batches
    # until ``limit`` match. No SQL function per row: the scan stays cheap on both databases.
    # Out of the trash without letting SQLite use the index on it (it has no statistics): it then walks
    # the index on updated_at and stops early, as ``listing.recently_modified`` does.
    stmt = (visible_documents(user, include_trash=True)
            .with_only_columns(Document.id, Document.title)
            .where(opaque(session, Document.deleted_at).is_(None), ~is_drafting_model(),
                   Document.doc_type != DocType.MODELE.value,
                   *[Document.title.ilike(_rough(word), escape="\\") for word in words], *_within(within)))
    if exclude_id is not None:
        stmt = stmt.where(Document.id != exclude_id)
    stmt = stmt.order_by(Document.updated_at.desc(), Document.id.desc()).limit(MAX_SCANNED)
    ids: list[int] = []
    number = int(text) if text.isascii() and text.isdigit() and len(text) <= 10 else None
    if number is not None and 1 <= number <= MAX_ID and number != exclude_id:
        # A number typed is that document first (a key lookup, same scope), then titles holding the digits.
        ids += session.scalars(visible_documents(user).with_only_columns(Document.id).where(
            Document.id == number, ~is_drafting_model(), Document.doc_type != DocType.MODELE.value,
            *_within(within))).all()
    result = session.execute(stmt.execution_options(yield_per=BATCH))
    try:
        for row_id, title in result:
            if len(ids) >= limit:
                break
            folded = fold(title)
            if row_id not in ids and all(word in folded for word in words):
                ids.append(row_id)
    finally:
        result.close()
    loaded = {d.id: d for d in session.scalars(select(Document).where(Document.id.in_(ids)))} if ids else {}
    found = [loaded[i] for i in ids if i in loaded]
    return [Suggestion(id=d.id, title=d.title, type_label=d.type_label, region_label=d.region_label, year=d.year)
            for d in found]
