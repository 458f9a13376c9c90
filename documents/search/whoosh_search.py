"""Whoosh search: exact counts and facets, top N, snippets and scoped suggestions."""

from __future__ import annotations

import html
import logging
import threading
import time
import unicodedata
import weakref
from collections import Counter
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any, Literal

from whoosh import collectors, sorting
from whoosh import query as wq
from whoosh.codec.whoosh3 import W3LeafMatcher
from whoosh.matching import wrappers
from whoosh.searching import Searcher

from documents.search.common import (
    DEFAULT_TIME_LIMIT,
    MAX_PER_PAGE,
    MAX_RESULT_WINDOW,
    FacetValue,
    SearchHit,
    SearchQueryError,
    SearchResults,
    SearchScope,
    SearchTimeout,
    filter_values,
    fold,
)
from documents.search.highlight import _Highlighter, _plain_snippet
from documents.search.query import _TEXT_FIELDS, FACET_FIELDS, FIELD_ALIASES, _err, _Node, parse_query
from documents.search.whoosh_index import SearchIndex
from documents.search.whoosh_query import _Compiler

logger = logging.getLogger(__name__)

# --------------------------------------------------------------------------
# Search
# --------------------------------------------------------------------------

TextFor = Callable[[Sequence[str]], Mapping[str, str]]


def _filters_query(filters: Mapping[str, str | Sequence[str]] | None) -> list[wq.Query]:
    out: list[wq.Query] = []
    for key, value in (filters or {}).items():
        fld = FIELD_ALIASES.get(fold(key))
        if fld is None or fld in _TEXT_FIELDS:
            raise _err(f"Le filtre « {key} » n'existe pas.")
        values = [value] if isinstance(value, str) else list(value)
        terms = [wq.Term(fld, code) for v in values if fold(str(v)) for code in filter_values(fld, fold(str(v)))]
        if terms:
            out.append(wq.Or(terms) if len(terms) > 1 else terms[0])
    return out


def _hit_value(fields: Mapping[str, object], name: str) -> str:
    value = fields.get(name)
    return str(value) if value is not None else ""


def _int_or_none(value: object) -> int | None:
    try:
        return int(str(value)) if value not in (None, "") else None
    except ValueError:
        return None


class _Deadline:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.end = time.monotonic() + seconds

    def left(self) -> float:
        return self.end - time.monotonic()

    def passed(self) -> bool:
        return self.left() <= 0


class _DeadlineCollector(collectors.WrappingCollector):  # type: ignore[misc]  # Whoosh has no type information
    """Raises ``TimeLimit`` once the deadline has passed, checked every few documents."""

    def __init__(self, child: collectors.Collector, deadline: _Deadline,
                 record: list[int] | None = None) -> None:
        self.child = child
        self.deadline = deadline
        self.record = record
        self.seen = 0

    def collect(self, sub_docnum: int):  # type: ignore[no-untyped-def]  # Whoosh has no type information
        self.seen += 1
        if self.seen % 32 == 0 and self.deadline.passed():
            raise collectors.TimeLimit
        if self.record is not None:
            self.record.append(self.child.offset + sub_docnum)
        return self.child.collect(sub_docnum)

    def collect_matches(self) -> None:
        # Route every match through collect() so that the check runs even
        # when no filter collector sits above us.
        for sub_docnum in self.child.matches():
            self.collect(sub_docnum)


def _has_phrase(q: wq.Query) -> bool:
    return any(isinstance(sub, wq.Phrase) for sub in q.leaves()) or isinstance(q, wq.Phrase)


def _docset(searcher: Searcher, scope_filter: wq.Query | None, deadline: _Deadline) -> set[int] | None:
    """Document numbers the scope allows (None = all), from the region postings."""
    if scope_filter is None:
        return None
    return set(searcher.docs_for_query(scope_filter))


def _term_docs(leaf: Searcher, q: wq.Term) -> set[int]:
    """Segment document numbers of one term, read a posting block at a time.

    ``Matcher.all_ids`` calls ``is_active``/``id``/``next`` for every posting (about
    40 ms for four terms of 19,000 documents at 20k); a posting block already holds
    its document numbers as one array. This reads those arrays from Whoosh's own
    W3 leaf matcher (whoosh-reloaded is pinned); deleted documents are taken out as
    Whoosh's filter would. Any other matcher goes through ``all_ids``.
    """
    matcher = q.matcher(leaf)
    excluded: Collection[int] = ()
    if type(matcher) is wrappers.FilterMatcher and matcher._exclude:  # deleted documents
        excluded, matcher = matcher._ids, matcher.child
    out: set[int] = set()
    if type(matcher) is W3LeafMatcher:
        while matcher.is_active():
            if matcher._ids is None:
                matcher._read_ids()
            out.update(matcher._ids[matcher._i:])  # from the current posting (a filter may have moved it)
            matcher._next_block()
    else:
        out.update(matcher.all_ids())
    return out.difference(excluded) if excluded else out


def _docs_of(leaf: Searcher, q: wq.Query, deadline: _Deadline) -> set[int]:
    """Segment document numbers matching ``q``: set algebra over the terms' posting lists.

    Stepping an intersection of unions in Python costs several calls per
    posting; one ``all_ids`` per term and C-level set operations do not.
    Any other query type goes through its own Whoosh matcher.
    """
    if deadline.passed():
        raise collectors.TimeLimit
    if type(q) is wq.And and q.subqueries:
        parts = sorted((_docs_of(leaf, sub, deadline) for sub in q.subqueries), key=len)
        return parts[0].intersection(*parts[1:])
    if type(q) is wq.Or and q.subqueries and not getattr(q, "minmatch", 0):
        return set().union(*(_docs_of(leaf, sub, deadline) for sub in q.subqueries))
    if type(q) is wq.AndNot:
        return _docs_of(leaf, q.a, deadline) - _docs_of(leaf, q.b, deadline)
    if type(q) is wq.Term:
        return _term_docs(leaf, q)
    return set(q.docs(leaf))


def _matching_docs(searcher: Searcher, q: wq.Query, allowed: set[int] | None, deadline: _Deadline) -> list[int]:
    """Every allowed match of ``q``, unscored."""
    out: list[int] = []
    for leaf, offset in searcher.leaf_searchers():
        docs = _docs_of(leaf, q, deadline)
        out.extend(d + offset for d in docs if allowed is None or d + offset in allowed)
    return out


def _top(searcher: Searcher, q: wq.Query, allowed: set[int] | None, deadline: _Deadline, *, limit: int,
         sortedby: sorting.FacetType | None, record: list[int] | None) -> Any:
    """The first ``limit`` allowed matches, best first (or by ``sortedby``); ``record`` receives every one.

    A recording pass must see every match: block skipping is off, and so is
    Whoosh's matcher replacement (``replace=0``).  Left on, once the top N is
    full, replacement narrows an Or over title and text to what could still
    enter the top N, so documents matching one field only went unrecorded
    and the total depended on the page size.
    """
    if sortedby is not None:
        top: collectors.Collector = collectors.SortingCollector(sortedby, limit=limit)
    elif record is not None:
        top = collectors.TopCollector(limit=limit, usequality=False, replace=0)
    else:
        top = collectors.TopCollector(limit=limit)
    # The deadline check sits INSIDE the scope filter.  Whoosh's own
    # TimeLimitCollector cannot be used here: wrapped around a filtered
    # collector it iterates the raw matches and bypasses the filter, so a
    # regional user would see every region (caught by the scope tests).
    timed = collectors.FilterCollector(_DeadlineCollector(top, deadline, record), allowed)
    searcher.search_with_collector(q, timed)
    return timed.results()


_FACET_COLUMNS: weakref.WeakKeyDictionary[Searcher, dict[str, list[object]]] = weakref.WeakKeyDictionary()
_FACET_LOCK = threading.Lock()


def _facet_columns(searcher: Searcher) -> dict[str, list[object]]:
    """The facet fields' values of every document, read once per searcher (from the sortable columns)."""
    with _FACET_LOCK:
        cached = _FACET_COLUMNS.get(searcher)
    if cached is not None:
        return cached
    columns: dict[str, list[object]] = {}
    for name in FACET_FIELDS:
        values: list[object] = []
        for leaf, offset in searcher.leaf_searchers():
            reader = leaf.reader()
            values.extend([None] * (offset - len(values)))
            values.extend(reader.column_reader(name) if reader.doc_count_all() else ())
        columns[name] = values
    with _FACET_LOCK:
        _FACET_COLUMNS[searcher] = columns
    return columns


def _count_facets(searcher: Searcher, docnums: Sequence[int]) -> dict[str, tuple[FacetValue, ...]]:
    """All the facets in one pass per field over the matched document numbers."""
    out: dict[str, tuple[FacetValue, ...]] = {}
    columns = _facet_columns(searcher)
    for name in FACET_FIELDS:
        counts = Counter(map(columns[name].__getitem__, docnums))
        out[name] = tuple(
            FacetValue(str(k), int(v))
            for k, v in sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))
            if k is not None and k != ""
        )
    return out


def _timeout_error() -> SearchTimeout:
    return SearchTimeout(
        "La recherche a pris trop de temps ; précisez-la avec des mots plus rares ou un filtre."
    )


def search(
    index: SearchIndex,
    query: str,
    *,
    scope: SearchScope,
    filters: Mapping[str, str | Sequence[str]] | None = None,
    sort: Literal["relevance", "date"] = "relevance",
    page: int = 1,
    per_page: int = 20,
    text_for: TextFor | None = None,
    suggest: bool = True,
    time_limit: float = DEFAULT_TIME_LIMIT,
    exclude_ids: Collection[str] = (),
) -> SearchResults:
    """Run a user query restricted to ``scope``; results, counts, facets, snippets and suggestion all respect it.

    ``exclude_ids`` are entry ids left out of every count (the drafting models by default).
    """
    if not isinstance(scope, SearchScope):
        raise TypeError("scope must be a SearchScope")
    deadline = _Deadline(time_limit)
    # Normalised once here so that suggestion spans index the same string.
    query = unicodedata.normalize("NFC", query)
    tree = parse_query(query)
    page = max(1, int(page))
    per_page = min(max(1, int(per_page)), MAX_PER_PAGE)
    if page * per_page > MAX_RESULT_WINDOW:
        raise _err(
            f"Seuls les {MAX_RESULT_WINDOW} premiers résultats sont consultables ; "
            "précisez la recherche ou ajoutez un filtre."
        )
    if sort not in ("relevance", "date"):
        raise _err("Le tri demandé n'existe pas : choisissez pertinence ou date.")
    extra = _filters_query(filters)
    scope_filter = scope.as_filter()
    empty = SearchResults(query=query, total=0, page=page, per_page=per_page, hits=(), facets={})
    if scope_filter is wq.NullQuery:
        return empty

    with index.searchers.searcher() as searcher:
        compiler = _Compiler(searcher, expired=deadline.passed)
        compiled = compiler.compile(tree)
        notices: list[str] = []
        if compiler.dropped_stopwords:
            notices.append("Les mots trop courants (le, de, pour…) sont ignorés.")
        if compiled is None:
            return SearchResults(
                query=query, total=0, page=page, per_page=per_page, hits=(), facets={},
                notices=tuple(notices),
            )
        full = wq.And([compiled, *extra]) if extra else compiled
        if exclude_ids:
            # Not part of the scope: a scope is a set of allowed docnums, which would turn the
            # national users' fast path off; AndNot is a plain set difference in ``_docs_of``.
            full = wq.AndNot(full, wq.Or([wq.Term("id", i) for i in sorted(exclude_ids)]))
        try:
            allowed = _docset(searcher, scope_filter, deadline)
            if allowed is None and sort == "relevance" and not _has_phrase(full):
                # Two cheap passes instead of one scored pass over every match:
                # the unscored match list gives the exact total and facets, and
                # the top-N collector may then skip what cannot enter the page
                # (block quality, matcher replacement), as bare Whoosh does.
                matched = _matching_docs(searcher, full, allowed, deadline)
                results = _top(searcher, full, allowed, deadline, limit=page * per_page, sortedby=None,
                               record=None)
            else:
                # Under a regional scope only the allowed matches are scored, and
                # sorting by date or checking phrase positions visits every match
                # anyway: one pass that records the allowed matches is cheaper
                # (measured: twice cheaper than counting apart for a region).
                matched = []
                sortedby = sorting.FieldFacet("date", reverse=True) if sort == "date" else None
                results = _top(searcher, full, allowed, deadline, limit=page * per_page, sortedby=sortedby,
                               record=matched)
        except collectors.TimeLimit:
            raise _timeout_error() from None
        if deadline.passed():
            raise _timeout_error()
        total = len(matched)
        facet_values = _count_facets(searcher, matched)
        # A slice of the top N: ``list(results)`` would ask the results' length first, which
        # Whoosh answers by matching the whole query again when the top-N pass skipped blocks
        # (measured: a third of a two-word search at 20,000 documents).
        page_hits = results[(page - 1) * per_page : page * per_page]
        ids = [h["id"] for h in page_hits]
        texts: Mapping[str, str] = text_for(ids) if (text_for and ids) else {}
        highlighter = _Highlighter(compiler.highlight, searcher.schema["text"].analyzer)
        hits: list[SearchHit] = []
        for h in page_hits:
            stored = h.fields()
            title = _hit_value(stored, "title")
            text = texts.get(h["id"], "") or ""
            title_html = snippet = None
            if not deadline.passed():
                # Past the deadline, snippets degrade to plain text rather than fail.
                title_html = highlighter.whole(title)
                snippet = highlighter.snippet(text)
            hits.append(
                SearchHit(
                    id=h["id"],
                    kind=_hit_value(stored, "kind"),
                    title=title,
                    type=_hit_value(stored, "type"),
                    region=_hit_value(stored, "region"),
                    year=_int_or_none(stored.get("year")),
                    status=_hit_value(stored, "status"),
                    version=_int_or_none(stored.get("version")),
                    date=stored.get("date"),
                    score=float(h.score or 0.0),
                    title_html=title_html or html.escape(title, quote=True),
                    snippet_html=snippet or _plain_snippet(text),
                )
            )
        suggestion = None
        if suggest and total == 0 and compiler.words and not deadline.passed():
            suggestion = _suggest(searcher, query, compiler, extra, scope_filter, deadline)
    return SearchResults(
        query=query,
        total=total,
        page=page,
        per_page=per_page,
        hits=tuple(hits),
        facets=facet_values,
        suggestion=suggestion,
        notices=tuple(notices),
    )


def _allowed_hits(searcher: Searcher, q: wq.Query, scope_filter: wq.Query | None) -> bool:
    return bool(searcher.search(q, limit=1, filter=scope_filter).scored_length() > 0)


def _suggest(
    searcher: Searcher,
    query: str,
    compiler: _Compiler,
    extra: list[wq.Query],
    scope_filter: wq.Query | None,
    deadline: _Deadline,
) -> str | None:
    """A corrected query string whose words all occur in documents of the scope."""
    corrector = searcher.corrector("text")
    title_corrector = searcher.corrector("title")
    replacements: list[tuple[_Node, str]] = []
    for node, stems in compiler.words[:5]:
        word_q = wq.Or([wq.Term(f, stems[0]) for f in _TEXT_FIELDS])
        if _allowed_hits(searcher, word_q, scope_filter):
            continue  # the word is fine where the user may look
        folded = fold(node.text)
        candidates: list[str] = []
        for c in (*corrector.suggest(folded, limit=5), *title_corrector.suggest(folded, limit=3)):
            if c not in candidates and c != folded:
                candidates.append(c)
        for cand in candidates[:6]:
            if deadline.passed():
                return None
            cand_stems = compiler.stems(cand)
            if len(cand_stems) != 1:
                continue
            cand_q = wq.Or([wq.Term(f, cand_stems[0]) for f in _TEXT_FIELDS])
            # Candidates come from the whole index: keep only those the user may see.
            if _allowed_hits(searcher, cand_q, scope_filter):
                replacements.append((node, cand))
                break
    if not replacements:
        return None
    out = query
    for node, cand in sorted(replacements, key=lambda r: r[0].start, reverse=True):
        out = out[: node.start] + cand + out[node.end :]
    # Propose it only if the whole corrected query finds something allowed.
    try:
        tree = parse_query(out)
        check = _Compiler(searcher).compile(tree)
    except SearchQueryError:
        return None
    if check is None or not _allowed_hits(searcher, wq.And([check, *extra]), scope_filter):
        return None
    return out
