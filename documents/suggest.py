"""Document suggestions for the pickers: a few documents whose title (or number) matches what was typed.

The picker that chooses the document to link, in the browser and without JavaScript, asks here.
Every query starts from ``archive.visible_documents(user)``: the regional scope is applied in SQL
before matching, so a suggestion never reveals a document the user may not read. Drafting models
and the trash are left out. Typing is forgiving: case and French accents are ignored, on SQLite
and PostgreSQL alike (``frenchtext.french_fold``, the fold of the French sort order).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, or_
from sqlalchemy.orm import Session

from documents.archive import visible_documents
from documents.bounds import MAX_ID
from documents.errors import ValidationError
from documents.frenchtext import fold, french_fold
from documents.listing import is_drafting_model
from documents.models import DocType, Document, User

#: Fewest characters worth a query (one letter would match most of the archive).
MIN_CHARS = 2
#: Longest query accepted (a title is at most 500 characters; nobody types more than this).
MAX_CHARS = 200
#: Words of the query that count (each must appear in the title).
MAX_WORDS = 6
#: Suggestions given by default, and at most.
DEFAULT_LIMIT, MAX_LIMIT = 10, 20

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


def suggest_documents(session: Session, user: User | None, query: str, *, limit: int = DEFAULT_LIMIT,
                      exclude_id: int | None = None) -> list[Suggestion]:
    """Up to ``limit`` documents ``user`` may read whose title holds every word of ``query`` (or whose number it is)."""
    text = clean_query(query)
    limit = max(1, min(limit, MAX_LIMIT))
    words = fold(text).lower().split()[:MAX_WORDS]
    title = french_fold(Document.title)
    matches_title = [title.like(f"%{_like(word)}%", escape="\\") for word in words]
    number = int(text) if text.isascii() and text.isdigit() and len(text) <= 10 else None
    stmt = visible_documents(user).where(~is_drafting_model(), Document.doc_type != DocType.MODELE.value)
    order: list[Any] = [Document.updated_at.desc(), Document.id.desc()]
    if number is not None and 1 <= number <= MAX_ID:
        # A number typed is the document's number first, then titles that contain it (« 2025 »).
        stmt = stmt.where(or_(Document.id == number, *matches_title))
        order.insert(0, case((Document.id == number, 0), else_=1))
    else:
        stmt = stmt.where(*matches_title)
    if exclude_id is not None:
        stmt = stmt.where(Document.id != exclude_id)
    stmt = stmt.order_by(*order).limit(limit)
    found: list[Document] = list(session.scalars(stmt))
    return [Suggestion(id=d.id, title=d.title, type_label=d.type_label, region_label=d.region_label, year=d.year)
            for d in found]
