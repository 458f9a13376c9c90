"""Compiles the query tree into Whoosh queries (fast phrase matcher, bounded prefixes)."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from itertools import accumulate

from whoosh import formats
from whoosh import query as wq
from whoosh.collectors import TimeLimit
from whoosh.compat import loads
from whoosh.matching import ListMatcher, Matcher, NullMatcher, wrappers
from whoosh.scoring import bm25
from whoosh.searching import Searcher
from whoosh.system import pack_uint

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


def _occurrences(first: list[int], rest: list[list[int]]) -> int:
    """How many positions of ``first`` are followed by one of each list of ``rest`` in turn."""
    starts = set(first)
    for gap, positions in enumerate(rest, 1):
        # The starts whose word number ``gap`` is there: a C-level set operation per word.
        starts.intersection_update(map(gap.__rsub__, positions))
        if not starts:
            return 0
    return len(starts)


class _PhraseScorer:
    """BM25 of the phrase itself: how often it occurs, in a field of that length.

    Lucene and tantivy score a phrase so (its frequency, the sum of its words'
    IDF); Whoosh's ``Phrase`` adds up its words' own scores, so a document that
    repeats the words apart outranked one that repeats the phrase. One length
    lookup and one formula (``whoosh.scoring.bm25``) per match instead of one
    scorer call per word.
    """

    def __init__(self, searcher: Searcher, fieldname: str, words: Sequence[str]) -> None:
        weighting = searcher.weighting
        parent = searcher.get_parent()
        self.reader = searcher.reader()
        self.fieldname = fieldname
        self.idf = sum(parent.idf(fieldname, w) for w in words)
        self.avgfl = parent.avg_field_length(fieldname) or 1
        self.boost = searcher.schema[fieldname].format.field_boost
        self.B = getattr(weighting, "B", 0.75)
        self.K1 = getattr(weighting, "K1", 1.2)

    def score(self, docnum: int, occurrences: int) -> float:
        length = self.reader.doc_field_length(docnum, self.fieldname, 1)
        return float(bm25(self.idf, occurrences * self.boost, length, self.avgfl, self.B, self.K1))


def _phrase_hits(terms: list[Matcher], scorer: _PhraseScorer, *, lead: int, raw_positions: bool,
                 expired: Callable[[], bool] | None) -> tuple[list[int], list[float]]:
    """The documents where the words of ``terms`` follow each other, and their scores.

    Same matches as Whoosh's ``Phrase`` (a ``SpanNear2`` with slop 1 over the
    same term matchers), scored by ``scorer``. One loop walks the word with the fewest documents and moves
    the others to each of its documents; positions are decoded at once and
    checked with set operations. Measured at 20,000 documents, Whoosh's nested
    intersection and span matchers cost more than the positions themselves.
    ``expired`` (the search's time bound) is asked every 256 documents.
    ``lead``: the index in ``terms`` of the word with the fewest documents.
    ``raw_positions``: the field stores Whoosh's ``Positions`` format, decoded here.
    """
    def positions(m: Matcher) -> list[int]:
        return decode_positions(m.value()) if raw_positions else list(m.value_as("positions"))

    ids: list[int] = []
    scores: list[float] = []
    if not all(m.is_active() for m in terms):
        return ids, scores
    first = terms[lead]
    others = [m for i, m in enumerate(terms) if i != lead]
    steps = 0
    while first.is_active():
        steps += 1
        if expired is not None and steps % 256 == 0 and expired():
            raise TimeLimit
        doc = first.id()
        ahead = None
        for m in others:
            if m.id() < doc:
                # Usually the very next posting (common words are in most documents): a step
                # costs less than a skip.
                m.next()
                if m.is_active() and m.id() < doc:
                    m.skip_to(doc)
                if not m.is_active():
                    return ids, scores
            if m.id() != doc:
                ahead = m.id()
                break
        if ahead is not None:
            first.skip_to(ahead)
            continue
        found = _occurrences(positions(terms[0]), [positions(m) for m in terms[1:]])
        if found:
            ids.append(doc)
            scores.append(scorer.score(doc, found))
        first.next()
    return ids, scores


class _Phrase(wq.Phrase):  # type: ignore[misc]  # Whoosh has no type stubs
    """``wq.Phrase`` (consecutive words), its matches found at once by ``_phrase_hits``, scored by ``_PhraseScorer``.

    ``expired``: the search's time bound, kept by ``normalize``.
    """

    expired: Callable[[], bool] | None = None

    def normalize(self) -> wq.Query:
        q = super().normalize()
        if isinstance(q, _Phrase):
            q.expired = self.expired
        return q

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
        sizes = [reader.doc_frequency(fieldname, word) for word in self.words]
        ids, scores = _phrase_hits(terms, _PhraseScorer(searcher, fieldname, self.words), lead=sizes.index(min(sizes)),
                                   raw_positions=type(field.format) is formats.Positions, expired=self.expired)
        if not ids:
            return NullMatcher()
        m: Matcher = ListMatcher(ids, weights=scores)
        if self.boost != 1.0:
            m = wrappers.WrappingMatcher(m, boost=self.boost)
        return m


class _Compiler:
    """Turns the tree into a Whoosh query, expanding prefixes within bounds."""

    def __init__(self, searcher: Searcher, *, expired: Callable[[], bool] | None = None) -> None:
        self.searcher = searcher
        #: The search's time bound, asked by long phrase scans.
        self.expired = expired
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
            subs = []
            for f in fields:
                phrase = _Phrase(f, stems)
                phrase.expired = self.expired
                subs.append(phrase)
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
