"""Compiles the query tree into Whoosh queries (fast phrase matcher, bounded prefixes)."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Sequence
from itertools import accumulate

from whoosh import formats
from whoosh import query as wq
from whoosh.compat import loads
from whoosh.matching import Matcher, NullMatcher, binary, wrappers
from whoosh.searching import Searcher
from whoosh.system import pack_uint
from whoosh.util import make_binary_tree

from documents.search.common import (
    MAX_PREFIX_EXPANSION,
    filter_values,
    fold,
)
from documents.search.query import _TEXT_FIELDS, _Node, empty_filter, prefix_base

logger = logging.getLogger(__name__)

# --------------------------------------------------------------------------
# Phrases
# --------------------------------------------------------------------------


#: Length of the count that starts a ``Positions`` value (``pack_uint``).
_COUNT_SIZE = len(pack_uint(0))


def decode_positions(raw: bytes) -> list[int]:
    """What ``whoosh.formats.Positions.decode_positions`` returns, without its Python loop.

    A ``Positions`` value is the count (``pack_uint``) then the pickled gaps
    between positions; Whoosh sums the gaps one by one in Python, which was
    most of a phrase search on common words (1.5 million additions for four
    phrases at 2,000 documents). ``itertools.accumulate`` sums them in C.
    ``test_decode_positions_is_whooshs_own`` proves both give the same lists.
    """
    if not raw.endswith(b"."):
        raw += b"."
    return list(accumulate(loads(raw[_COUNT_SIZE:])))


def _follows(first: list[int], rest: list[list[int]]) -> bool:
    """True when some position of ``first`` is followed by one of each list of ``rest`` in turn."""
    starts = set(first)
    for gap, positions in enumerate(rest, 1):
        # The starts whose word number ``gap`` is there: a C-level set operation per word.
        starts.intersection_update(map(gap.__rsub__, positions))
        if not starts:
            return False
    return True


class _PhraseMatcher(wrappers.WrappingMatcher):  # type: ignore[misc]  # Whoosh has no type stubs
    """Documents where the words follow each other, checked on raw positions.

    Same matches and scores as Whoosh's ``Phrase`` (a ``SpanNear2`` with
    slop 1 over the same term matchers, scored as their intersection), but
    the check is set operations on the decoded positions instead of building
    span objects: measured, phrase checking was most of the time of a phrase search.
    ``raw_positions``: the field stores Whoosh's ``Positions`` format, decoded here.
    """

    def __init__(self, terms: list[Matcher], *, raw_positions: bool = False) -> None:
        self.terms = terms
        self.raw_positions = raw_positions
        super().__init__(make_binary_tree(binary.IntersectionMatcher, terms))
        self._find_next()

    def _positions(self, matcher: Matcher) -> list[int]:
        if self.raw_positions:
            return decode_positions(matcher.value())
        return list(matcher.value_as("positions"))

    def _here(self) -> bool:
        return _follows(self._positions(self.terms[0]), [self._positions(m) for m in self.terms[1:]])

    def _find_next(self) -> None:
        child = self.child
        while child.is_active() and not self._here():
            child.next()

    def copy(self) -> _PhraseMatcher:
        return _PhraseMatcher([m.copy() for m in self.terms], raw_positions=self.raw_positions)

    def replace(self, minquality: float = 0) -> Matcher:
        # The intersection must keep these very term matchers (positions are
        # read from them): never swapped for a "more efficient" one.
        return self if self.is_active() else NullMatcher()

    def supports_block_quality(self) -> bool:
        return False

    def next(self) -> None:
        self.child.next()
        self._find_next()

    def skip_to(self, id: int) -> None:
        self.child.skip_to(id)
        self._find_next()

    def all_ids(self) -> Iterator[int]:
        while self.is_active():
            yield self.id()
            self.next()


class _Phrase(wq.Phrase):  # type: ignore[misc]  # Whoosh has no type stubs
    """``wq.Phrase`` (consecutive words) with the faster matcher above."""

    def matcher(self, searcher: Searcher, context=None) -> Matcher:  # type: ignore[no-untyped-def]  # Whoosh has no type information
        fieldname = self.fieldname
        if fieldname not in searcher.schema or len(self.words) < 2 or self.slop != 1:
            return super().matcher(searcher, context)
        field = searcher.schema[fieldname]
        reader = searcher.reader()
        terms = []
        for word in self.words:
            if (fieldname, field.to_bytes(word)) not in reader:
                return NullMatcher()
            terms.append(wq.Term(fieldname, word).matcher(searcher, context))
        m: Matcher = _PhraseMatcher(terms, raw_positions=type(field.format) is formats.Positions)
        if self.boost != 1.0:
            m = wrappers.WrappingMatcher(m, boost=self.boost)
        return m


class _Compiler:
    """Turns the tree into a Whoosh query, expanding prefixes within bounds."""

    def __init__(self, searcher: Searcher) -> None:
        self.searcher = searcher
        self.reader = searcher.reader()
        self.analyzer = searcher.schema["text"].analyzer
        #: stems to highlight (positive clauses only).
        self.highlight: set[str] = set()
        #: plain words that may be spell-corrected: (node, stems)
        self.words: list[tuple[_Node, list[str]]] = []
        self.prefixes = 0
        self.dropped_stopwords = False

    def stems(self, text: str) -> list[str]:
        return [t.text for t in self.analyzer(text)]

    def compile(self, node: _Node, *, negated: bool = False) -> wq.Query | None:
        op = node.op
        if op == "all":
            return wq.Every()
        if op == "and":
            pos: list[wq.Query] = []
            neg: list[wq.Query] = []
            for child in node.children:
                if child.op == "not":
                    q = self.compile(child.children[0], negated=not negated)
                    if q is not None:
                        neg.append(q)
                else:
                    q = self.compile(child, negated=negated)
                    if q is not None:
                        pos.append(q)
            if not pos and not neg:
                return None
            base: wq.Query = wq.And(pos) if len(pos) > 1 else pos[0] if pos else wq.Every()
            if neg:
                return wq.AndNot(base, wq.Or(neg) if len(neg) > 1 else neg[0])
            return base
        if op == "or":
            parts = [self.compile(c, negated=negated) for c in node.children]
            kept = [p for p in parts if p is not None]
            if not kept:
                return None
            return wq.Or(kept) if len(kept) > 1 else kept[0]
        if op == "not":
            inner = self.compile(node.children[0], negated=not negated)
            if inner is None:
                return None
            return wq.AndNot(wq.Every(), inner)
        fld = node.field
        if fld is not None and fld not in _TEXT_FIELDS:
            return self.compile_filter(fld, node.text)
        fields = (fld,) if fld else _TEXT_FIELDS
        if op == "word" and node.prefix:
            return self.compile_prefix(node, fields, negated=negated)
        stems = self.stems(node.text)
        if not stems:
            if re.search(r"\w", node.text):
                self.dropped_stopwords = True
            return None
        if not negated:
            self.highlight.update(stems)
            if op == "word" and fld is None and len(stems) == 1:
                self.words.append((node, stems))
        if len(stems) == 1:
            subs: list[wq.Query] = [wq.Term(f, stems[0]) for f in fields]
        else:
            subs = [_Phrase(f, stems) for f in fields]
        return wq.Or(subs) if len(subs) > 1 else subs[0]

    def compile_filter(self, fld: str, value: str) -> wq.Query:
        folded = fold(value)
        if not folded:
            raise empty_filter(fld)
        terms = [wq.Term(fld, v) for v in filter_values(fld, folded)]
        return wq.Or(terms) if len(terms) > 1 else terms[0]

    def compile_prefix(self, node: _Node, fields: Sequence[str], *, negated: bool) -> wq.Query:
        self.prefixes += 1
        base = prefix_base(node.text, self.prefixes)
        # Expand over the unstemmed word lists (spell_*), then stem: "region*"
        # then finds "régionales" whose stem "regional" is not a prefix match.
        words: set[str] = set()
        for f in fields:
            spell = self.searcher.schema[f].spelling_fieldname(f)
            if spell not in self.reader.indexed_field_names():
                continue
            for raw in self.reader.expand_prefix(spell, base):
                words.add(raw.decode("utf-8") if isinstance(raw, bytes) else raw)
                # Bounded: at most MAX_PREFIX_EXPANSION words, whatever the prefix.
                if len(words) >= MAX_PREFIX_EXPANSION:
                    break
        stems = sorted({s for w in words for s in self.stems(w)})
        if not negated:
            self.highlight.update(stems)
        if not stems:
            return wq.NullQuery
        return wq.Or([wq.Term(f, s) for f in fields for s in stems])
