"""Search on the tantivy engine: the same query tree, scope, exact counts, facets and snippets as Whoosh."""

from __future__ import annotations

import html
import re
import time
import unicodedata
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Literal

import tantivy

from documents.search.common import (
    DEFAULT_TIME_LIMIT,
    MAX_PER_PAGE,
    MAX_PREFIX_EXPANSION,
    MAX_RESULT_WINDOW,
    FacetValue,
    SearchHit,
    SearchResults,
    SearchScope,
    SearchTimeout,
    filter_values,
    fold,
)
from documents.search.highlight import _Highlighter, _plain_snippet
from documents.search.query import (
    _TEXT_FIELDS,
    FACET_FIELDS,
    FIELD_ALIASES,
    _err,
    _Node,
    empty_filter,
    parse_query,
    prefix_base,
)
from documents.search.tantivy_engine import FOLDED, FRENCH, TITLE_BOOST, TantivyIndex, _StemAnalyzer, _stored

Occur = tantivy.Occur
Query = tantivy.Query
#: Enough buckets for every distinct value of a facet (26 regions, a few types, years).
_FACET_BUCKETS = 10_000


def _folded_term(value: str) -> str:
    tokens = FOLDED.analyze(unicodedata.normalize("NFC", value))
    return tokens[0] if tokens else ""


def region_filter(schema: tantivy.Schema, scope: SearchScope) -> Query | None:
    """The engine query of the regions ``scope`` may read (None = every region; empty scope = nothing)."""
    terms = scope.region_terms()
    if terms is None:
        return None
    if not terms:
        return Query.empty_query()
    return Query.term_set_query(schema, "region", terms)


def _all_of(musts: Sequence[Query], nots: Sequence[Query] = ()) -> Query:
    if len(musts) == 1 and not nots:
        return musts[0]
    return Query.boolean_query([*((Occur.Must, q) for q in musts), *((Occur.MustNot, q) for q in nots)])


def _any_of(queries: Sequence[Query]) -> Query:
    return queries[0] if len(queries) == 1 else Query.boolean_query([(Occur.Should, q) for q in queries])


def _filter(q: Query) -> Query:
    # Filters restrict without changing the ranking.
    return Query.const_score_query(q, 0.0)


class _Compiler:
    """Turns the tree into a tantivy query, expanding prefixes within bounds (as the Whoosh compiler)."""

    def __init__(self, searcher: tantivy.Searcher, schema: tantivy.Schema) -> None:
        self.searcher = searcher
        self.schema = schema
        #: stems to highlight (positive clauses only).
        self.highlight: set[str] = set()
        #: plain words that may be spell-corrected: (node, stems)
        self.words: list[tuple[_Node, list[str]]] = []
        self.prefixes = 0
        self.dropped_stopwords = False

    def stems(self, text: str) -> list[str]:
        return FRENCH.analyze(text)

    def _field_term(self, fld: str, stem: str) -> Query:
        q = Query.term_query(self.schema, fld, stem)
        return Query.boost_query(q, TITLE_BOOST) if fld == "title" else q

    def compile(self, node: _Node, *, negated: bool = False) -> Query | None:
        op = node.op
        if op == "all":
            return Query.all_query()
        if op == "and":
            pos: list[Query] = []
            neg: list[Query] = []
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
            return _all_of(pos or [Query.all_query()], neg)
        if op == "or":
            kept = [q for q in (self.compile(c, negated=negated) for c in node.children) if q is not None]
            return _any_of(kept) if kept else None
        if op == "not":
            inner = self.compile(node.children[0], negated=not negated)
            return None if inner is None else _all_of([Query.all_query()], [inner])
        fld = node.field
        if fld is not None and fld not in _TEXT_FIELDS:
            return self.compile_filter(fld, node.text)
        fields = (fld,) if fld else _TEXT_FIELDS
        if op == "word" and node.prefix:
            return self.compile_prefix(node, fields, negated=negated)
        tokens = FRENCH.pre_tokenize(unicodedata.normalize("NFC", node.text)).tokens
        stems = [t.text for t in tokens]
        if not stems:
            if re.search(r"\w", node.text):
                self.dropped_stopwords = True
            return None
        if not negated:
            self.highlight.update(stems)
            if op == "word" and fld is None and len(stems) == 1:
                self.words.append((node, stems))
        if len(stems) == 1:
            return _any_of([self._field_term(f, stems[0]) for f in fields])
        # Positions keep the gaps of dropped stop words: « comité de pilotage ».
        first = tokens[0].position
        words: list[str | tuple[int, str]] = [(t.position - first, t.text) for t in tokens]
        phrases = [Query.phrase_query(self.schema, f, words) for f in fields]
        return _any_of([Query.boost_query(p, TITLE_BOOST) if f == "title" else p for f, p in zip(fields, phrases)])

    def compile_filter(self, fld: str, value: str) -> Query:
        folded = _folded_term(value)
        if not folded:
            raise empty_filter(fld)
        values = filter_values(fld, folded)
        if len(values) == 1:
            return _filter(Query.term_query(self.schema, fld, values[0]))
        return _filter(Query.term_set_query(self.schema, fld, values))

    def compile_prefix(self, node: _Node, fields: Sequence[str], *, negated: bool) -> Query:
        self.prefixes += 1
        base = prefix_base(node.text, self.prefixes)
        # Expand over the unstemmed words, then stem: "region*" finds "régionales".
        # Bounded: at most MAX_PREFIX_EXPANSION words, whatever the prefix.
        words = [w for w, _n in self.searcher.terms_with_prefix("words", base, limit=MAX_PREFIX_EXPANSION)]
        stems = sorted({s for w in words for s in self.stems(w)})
        if not negated:
            self.highlight.update(stems)
        if not stems:
            return Query.empty_query()
        return _any_of([self._field_term(f, s) for f in fields for s in stems])


def _filters_query(schema: tantivy.Schema, filters: Mapping[str, str | Sequence[str]] | None) -> list[Query]:
    out: list[Query] = []
    for key, value in (filters or {}).items():
        fld = FIELD_ALIASES.get(fold(key))
        if fld is None or fld in _TEXT_FIELDS:
            raise _err(f"Le filtre « {key} » n'existe pas.")
        values = [value] if isinstance(value, str) else list(value)
        terms = sorted({code for v in values if _folded_term(str(v))
                        for code in filter_values(fld, _folded_term(str(v)))})
        if terms:
            out.append(_filter(Query.term_set_query(schema, fld, terms)))
    return out


def _facets(searcher: tantivy.Searcher, q: Query) -> dict[str, tuple[FacetValue, ...]]:
    """Exact counts of every facet value over all the matches (one aggregation request)."""
    agg = {name: {"terms": {"field": name, "size": _FACET_BUCKETS}} for name in FACET_FIELDS}
    result = searcher.aggregate(q, agg)
    out: dict[str, tuple[FacetValue, ...]] = {}
    for name in FACET_FIELDS:
        buckets = result.get(name, {}).get("buckets", [])
        values = [(str(b["key"]), int(b["doc_count"])) for b in buckets if str(b["key"]) != ""]
        out[name] = tuple(FacetValue(k, v) for k, v in sorted(values, key=lambda kv: (-kv[1], kv[0])))
    return out


def _int_or_none(value: object) -> int | None:
    try:
        return int(str(value)) if value not in (None, "") else None
    except ValueError:
        return None


def _timeout_error() -> SearchTimeout:
    return SearchTimeout(
        "La recherche a pris trop de temps ; précisez-la avec des mots plus rares ou un filtre."
    )


def search(
    index: TantivyIndex,
    query: str,
    *,
    scope: SearchScope,
    filters: Mapping[str, str | Sequence[str]] | None = None,
    sort: Literal["relevance", "date"] = "relevance",
    page: int = 1,
    per_page: int = 20,
    text_for: Callable[[Sequence[str]], Mapping[str, str]] | None = None,
    suggest: bool = True,
    time_limit: float = DEFAULT_TIME_LIMIT,
    exclude_ids: Collection[str] = (),
) -> SearchResults:
    """Run a user query restricted to ``scope``; results, counts, facets, snippets and suggestion all respect it.

    ``exclude_ids`` are entry ids left out of every count (the drafting models by default).
    """
    if not isinstance(scope, SearchScope):
        raise TypeError("scope must be a SearchScope")
    end = time.monotonic() + time_limit
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
    _name, ix = index.current()
    schema = ix.schema
    extra = _filters_query(schema, filters)
    scope_q = region_filter(schema, scope)
    if scope.region_terms() == []:
        return SearchResults(query=query, total=0, page=page, per_page=per_page, hits=(), facets={})
    searcher = ix.searcher()
    compiler = _Compiler(searcher, schema)
    compiled = compiler.compile(tree)
    notices: list[str] = []
    if compiler.dropped_stopwords:
        notices.append("Les mots trop courants (le, de, pour…) sont ignorés.")
    if compiled is None:
        return SearchResults(query=query, total=0, page=page, per_page=per_page, hits=(), facets={},
                             notices=tuple(notices))
    # The scope is part of the engine query: nothing outside it is scored, counted or faceted.
    excluded = [Query.term_set_query(schema, "id", sorted(exclude_ids))] if exclude_ids else []
    full = _all_of([compiled, *extra, *([_filter(scope_q)] if scope_q is not None else [])], excluded)
    offset = (page - 1) * per_page
    if sort == "date":
        found = searcher.search(full, per_page, count=True, order_by_field="date_order", offset=offset,
                                order=tantivy.Order.Desc)
    else:
        found = searcher.search(full, per_page, count=True, offset=offset)
    total = _count(found)
    facet_values: dict[str, tuple[FacetValue, ...]] = (
        _facets(searcher, full) if total else {name: () for name in FACET_FIELDS})
    if time.monotonic() > end:
        raise _timeout_error()
    stored = [(score, _stored(searcher.doc(address))) for score, address in found.hits]
    ids = [str(f["id"]) for _s, f in stored]
    texts: Mapping[str, str] = text_for(ids) if (text_for and ids) else {}
    highlighter = _Highlighter(compiler.highlight, _StemAnalyzer())
    hits: list[SearchHit] = []
    for score, fields in stored:
        title = str(fields.get("title", ""))
        text = texts.get(str(fields["id"]), "") or ""
        title_html = snippet = None
        if time.monotonic() <= end:
            # Past the deadline, snippets degrade to plain text rather than fail.
            title_html = highlighter.whole(title)
            snippet = highlighter.snippet(text)
        hits.append(SearchHit(
            id=str(fields["id"]), kind=str(fields.get("kind", "")), title=title,
            type=str(fields.get("type", "")), region=str(fields.get("region", "")),
            year=_int_or_none(fields.get("year")), status=str(fields.get("status", "")),
            version=_int_or_none(fields.get("version")), date=fields.get("date"),  # type: ignore[arg-type]  # tantivy returns the stored date as a datetime
            score=float(score) if sort == "relevance" and isinstance(score, float) else 0.0,
            title_html=title_html or html.escape(title, quote=True),
            snippet_html=snippet or _plain_snippet(text),
        ))
    suggestion = None
    if suggest and total == 0 and compiler.words and time.monotonic() <= end:
        suggestion = _suggest(searcher, schema, query, compiler, extra, scope_q)
    return SearchResults(query=query, total=total, page=page, per_page=per_page, hits=tuple(hits),
                         facets=facet_values, suggestion=suggestion, notices=tuple(notices))


def _count(found: tantivy.SearchResult) -> int:
    """The exact number of matches of a search run with ``count=True`` (absent from tantivy's type stubs)."""
    return int(getattr(found, "count", None) or 0)


def _allowed_hits(searcher: tantivy.Searcher, q: Query, scope_q: Query | None) -> bool:
    full = _all_of([q, _filter(scope_q)]) if scope_q is not None else q
    return _count(searcher.search(full, 1, count=True)) > 0


def _distance(a: str, b: str, bound: int = 2) -> int:
    """Levenshtein distance of ``a`` and ``b``, or ``bound + 1`` once it exceeds ``bound``."""
    if abs(len(a) - len(b)) > bound:
        return bound + 1
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        if min(cur) > bound:
            return bound + 1
        prev = cur
    return prev[-1]


def _suggest(searcher: tantivy.Searcher, schema: tantivy.Schema, query: str, compiler: _Compiler,
             extra: list[Query], scope_q: Query | None) -> str | None:
    """A corrected query string whose words all occur in documents of the scope."""
    replacements: list[tuple[_Node, str]] = []
    for node, stems in compiler.words[:5]:
        if _allowed_hits(searcher, _any_of([compiler._field_term(f, stems[0]) for f in _TEXT_FIELDS]), scope_q):
            continue  # the word is fine where the user may look
        folded = fold(node.text)
        if len(folded) < 2:
            continue
        # Candidates come only from words of documents the user may read.
        words = searcher.terms_with_prefix("words", folded[:1], filter_query=scope_q)
        ranked = sorted((d, -n, w) for w, n in words if w != folded and (d := _distance(folded, w)) <= 2)
        for _d, _n, cand in ranked[:6]:
            cand_stems = compiler.stems(cand)
            if len(cand_stems) != 1:
                continue
            q = _any_of([compiler._field_term(f, cand_stems[0]) for f in _TEXT_FIELDS])
            if _allowed_hits(searcher, q, scope_q):
                replacements.append((node, cand))
                break
    if not replacements:
        return None
    out = query
    for node, cand in sorted(replacements, key=lambda r: r[0].start, reverse=True):
        out = out[:node.start] + cand + out[node.end:]
    # Propose it only if the whole corrected query finds something allowed.
    try:
        check = _Compiler(searcher, schema).compile(parse_query(out))
    except Exception:  # noqa: BLE001 - a correction that does not parse is not proposed
        return None
    if check is None or not _allowed_hits(searcher, _all_of([check, *extra]), scope_q):
        return None
    return out
