"""The user query language: lexer and parser into an engine-independent syntax tree, within bounds."""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass
from dataclasses import field as dc_field

from documents.search.common import (
    _APOSTROPHES,
    _ELISION_RE,
    MAX_CLAUSES,
    MAX_PAREN_DEPTH,
    MAX_PREFIXES,
    MAX_QUERY_LENGTH,
    MIN_PREFIX_LENGTH,
    SearchQueryError,
    fold,
)

logger = logging.getLogger(__name__)

# --------------------------------------------------------------------------
# Query language
# --------------------------------------------------------------------------

#: French (and English) names of the filterable fields.
FIELD_ALIASES: dict[str, str] = {
    "type": "type",
    "region": "region",
    "annee": "year",
    "an": "year",
    "year": "year",
    "statut": "status",
    "etat": "status",
    "status": "status",
    "nature": "kind",
    "kind": "kind",
    "version": "version",
    "partie": "parties",
    "parties": "parties",
    "signataire": "parties",
    "signataires": "parties",
    "quartier": "quartiers",
    "quartiers": "quartiers",
    "motcle": "keywords",
    "mot-cle": "keywords",
    "motscles": "keywords",
    "mots-cles": "keywords",
    "keywords": "keywords",
    "titre": "title",
    "title": "title",
    "texte": "text",
    "text": "text",
}
_TEXT_FIELDS = ("title", "text")
FACET_FIELDS = ("type", "region", "year", "status", "kind")

_OPERATORS = {"AND": "AND", "ET": "AND", "OR": "OR", "OU": "OR", "NOT": "NOT", "SAUF": "NOT"}
_QUOTES = {'"': '"', "“": "”", "«": "»", "„": "“"}
_STOP_CHARS = set(" \t\r\n()") | set(_QUOTES)
_LUCENE_SUFFIX = re.compile(r"[~^][\d.]*$")
_FIELD_RE = re.compile(r"^([^\W\d_][\w-]*):(.*)$", re.S)


@dataclass
class _Tok:
    kind: str  # WORD PHRASE FIELD LPAREN RPAREN AND OR NOT
    text: str
    start: int
    end: int


@dataclass
class _Node:
    op: str  # word phrase field and or not all
    text: str = ""
    field: str | None = None
    prefix: bool = False
    children: list[_Node] = dc_field(default_factory=list)
    start: int = 0
    end: int = 0


def _err(message: str) -> SearchQueryError:
    return SearchQueryError(message)


def prefix_base(text: str, count: int) -> str:
    """The folded letters before the * of the ``count``-th prefix of a query (« l'éduc* » -> « educ »).

    Both engines expand prefixes over their unstemmed words from this base; a query with
    too many prefixes, or a prefix too short to be bounded, gets a French message.
    """
    if count > MAX_PREFIXES:
        raise _err(
            f"La recherche contient trop de troncatures * ({MAX_PREFIXES} au plus) ; "
            "retirez-en."
        )
    base = fold(text).translate(_APOSTROPHES)
    m = _ELISION_RE.match(base)
    if m:
        base = base[m.end():]
    if len(base) < MIN_PREFIX_LENGTH or not re.fullmatch(r"\w+", base):
        raise _err(
            f"Une troncature * demande au moins {MIN_PREFIX_LENGTH} lettres avant l'étoile, "
            "par exemple conven*."
        )
    return base


def empty_filter(fld: str) -> SearchQueryError:
    """The error of a filter written without a value (« type: »)."""
    return _err(
        f"Le filtre « {fld} » n'a pas de valeur ; écrivez par exemple "
        "type:convention ou region:11."
    )


def _lex(q: str) -> list[_Tok]:
    toks: list[_Tok] = []
    i, n, depth = 0, len(q), 0
    while i < n:
        c = q[i]
        if c.isspace():
            i += 1
        elif c == "(":
            depth += 1
            if depth > MAX_PAREN_DEPTH:
                raise _err(
                    f"La recherche imbrique trop de parenthèses ({MAX_PAREN_DEPTH} niveaux au plus) ; "
                    "simplifiez-la."
                )
            toks.append(_Tok("LPAREN", c, i, i + 1))
            i += 1
        elif c == ")":
            depth -= 1
            if depth < 0:
                raise _err(
                    "Une parenthèse fermante « ) » n'a pas de parenthèse ouvrante ; "
                    "retirez-la ou ajoutez « ( »."
                )
            toks.append(_Tok("RPAREN", c, i, i + 1))
            i += 1
        elif c in _QUOTES:
            close = q.find(_QUOTES[c], i + 1)
            if close < 0:
                raise _err(
                    "Un guillemet n'est pas fermé ; mettez l'expression exacte entre deux guillemets, "
                    'par exemple "comité de pilotage".'
                )
            toks.append(_Tok("PHRASE", q[i + 1 : close], i, close + 1))
            i = close + 1
        elif c in "-+" and i + 1 < n and not q[i + 1].isspace() and (
            i == 0 or q[i - 1].isspace() or q[i - 1] == "("
        ):
            if c == "-":
                toks.append(_Tok("NOT", c, i, i + 1))
            i += 1
        else:
            j = i
            while j < n and q[j] not in _STOP_CHARS:
                j += 1
            chunk = q[i:j]
            if chunk in _OPERATORS:
                toks.append(_Tok(_OPERATORS[chunk], chunk, i, j))
            else:
                m = _FIELD_RE.match(chunk)
                alias = fold(m.group(1)) if m else ""
                if m and alias in FIELD_ALIASES:
                    toks.append(_Tok("FIELD", FIELD_ALIASES[alias], i, i + len(m.group(1)) + 1))
                    if m.group(2):
                        toks.append(_Tok("WORD", m.group(2), i + len(m.group(1)) + 1, j))
                else:
                    toks.append(_Tok("WORD", chunk, i, j))
            i = j
    if depth > 0:
        raise _err(
            "Une parenthèse ouvrante « ( » n'est pas fermée ; ajoutez « ) » ou retirez-la."
        )
    return toks


_OP_NAMES = {"AND": "ET", "OR": "OU", "NOT": "SAUF"}


class _Parser:
    """Recursive descent; depth is bounded by MAX_PAREN_DEPTH, checked in the lexer."""

    def __init__(self, toks: list[_Tok]) -> None:
        self.toks = toks
        self.i = 0
        self.clauses = 0

    def peek(self) -> _Tok | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self) -> _Tok:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def parse(self) -> _Node:
        if not self.toks:
            return _Node("all")
        node = self.parse_or(None)
        tok = self.peek()
        if tok is not None:  # only a stray ")" can stop parse_or early; the lexer catches it
            raise _err(f"La recherche est mal formée près de « {tok.text} ».")
        return node

    def parse_or(self, fld: str | None) -> _Node:
        items = [self.parse_and(fld)]
        while (tok := self.peek()) is not None and tok.kind == "OR":
            self.take()
            items.append(self.parse_and(fld))
        return items[0] if len(items) == 1 else _Node("or", children=items)

    def parse_and(self, fld: str | None) -> _Node:
        items = [self.parse_unary(fld)]
        while (tok := self.peek()) is not None and tok.kind not in ("OR", "RPAREN"):
            if tok.kind == "AND":
                self.take()
            items.append(self.parse_unary(fld))
        return items[0] if len(items) == 1 else _Node("and", children=items)

    def parse_unary(self, fld: str | None) -> _Node:
        negate = False
        while (tok := self.peek()) is not None and tok.kind == "NOT":
            self.take()
            negate = not negate
        tok = self.peek()
        if tok is None or tok.kind in ("AND", "OR", "RPAREN"):
            before = self.toks[self.i - 1] if self.i else None
            if before is not None and before.kind in _OP_NAMES:
                name = _OP_NAMES[before.kind]
                raise _err(
                    f"L'opérateur {name} doit être suivi d'un mot ; complétez ou retirez-le."
                )
            if tok is not None and tok.kind in _OP_NAMES:
                name = _OP_NAMES[tok.kind]
                raise _err(f"L'opérateur {name} doit relier deux mots ; complétez ou retirez-le.")
            raise _err("Les parenthèses sont vides ; mettez-y au moins un mot.")
        node = self.parse_primary(fld)
        return _Node("not", children=[node]) if negate else node

    def parse_primary(self, fld: str | None) -> _Node:
        tok = self.take()
        if tok.kind == "LPAREN":
            node = self.parse_or(fld)
            end = self.peek()
            if end is None or end.kind != "RPAREN":  # pragma: no cover - lexer balances
                raise _err("Une parenthèse n'est pas fermée.")
            self.take()
            return node
        if tok.kind == "FIELD":
            if fld is not None:
                raise _err("Un filtre ne peut pas contenir un autre filtre ; séparez-les.")
            nxt = self.peek()
            if nxt is None or nxt.kind not in ("WORD", "PHRASE", "LPAREN") or nxt.start != tok.end:
                raise _err(
                    f"Le filtre « {tok.text} » n'a pas de valeur ; écrivez par exemple "
                    "type:convention ou region:11."
                )
            return self.parse_primary(tok.text)
        self.clauses += 1
        if self.clauses > MAX_CLAUSES:
            raise _err(f"La recherche contient trop de mots ({MAX_CLAUSES} au plus) ; raccourcissez-la.")
        if tok.kind == "PHRASE":
            return _Node("phrase", text=tok.text, field=fld, start=tok.start, end=tok.end)
        # Lucene habits ("word~2" fuzzy, "word^3" boost) are neutralised to the plain word.
        text = _LUCENE_SUFFIX.sub("", tok.text) or tok.text
        prefix = False
        if "*" in text:
            if text.count("*") > 1 or not text.endswith("*") or fld not in (None, *_TEXT_FIELDS):
                raise _err(
                    "L'étoile * n'est permise qu'à la fin d'un mot, par exemple conven* ; "
                    "retirez les autres étoiles."
                )
            text = text[:-1]
            prefix = True
        return _Node("word", text=text, field=fld, prefix=prefix, start=tok.start, end=tok.end)


def parse_query(q: str) -> _Node:
    """Check and parse a user query into a syntax tree (raises ``SearchQueryError``)."""
    if len(q) > MAX_QUERY_LENGTH:
        raise _err(
            f"La recherche est trop longue ({len(q)} caractères, {MAX_QUERY_LENGTH} au plus) ; "
            "raccourcissez-la."
        )
    q = unicodedata.normalize("NFC", q).replace("\x00", " ")
    return _Parser(_lex(q)).parse()
