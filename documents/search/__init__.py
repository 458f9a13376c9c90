"""Full-text search: French analysis, a bounded query language, scoped results.

All search code of the project lives in this package, behind plain values
(``IndexEntry``, ``SearchScope``, ``SearchResults``) so that another engine can
later sit behind the same functions.  Nothing here knows about the database:
callers feed entries through ``writing()`` / ``rebuild()`` and give the text
for snippets through a ``text_for`` callback at search time.

On-disk layout of an index ``root``::

    root/CURRENT          name of the live generation (replaced atomically)
    root/gen-<stamp>/     one complete Whoosh index + SCHEMA_VERSION

A rebuild writes a new generation beside the live one, then swaps CURRENT, so
searchers never see a half-built index.

Modules by job: ``common`` (bounds, errors, values), ``query`` (the query
language), ``analysis`` (French analysis, schema), ``highlight`` (snippets),
``whoosh_index`` / ``whoosh_query`` / ``whoosh_search`` (the Whoosh engine),
``tantivy_engine`` / ``tantivy_search`` (the tantivy engine), ``engines`` (which
one serves an index).  Importers use the names re-exported here.

The indexer's modules read the database and are not imported here (see
``documents.indexer``): ``sources`` (the registry of indexed object types),
``outbox``, ``rebuilding``, ``worker``, ``checking``, ``archive_search``.
"""

from documents.search.analysis import (
    ElisionFilter,
    build_schema,
    french_analyzer,
)
from documents.search.common import (
    DEFAULT_TIME_LIMIT,
    HIGHLIGHT_TEXT_CAP,
    INDEX_TEXT_CAP,
    KINDS,
    MAX_CLAUSES,
    MAX_PAREN_DEPTH,
    MAX_PER_PAGE,
    MAX_PREFIX_EXPANSION,
    MAX_PREFIXES,
    MAX_QUERY_LENGTH,
    MAX_RESULT_WINDOW,
    MIN_PREFIX_LENGTH,
    NATIONAL,
    SCHEMA_VERSION,
    SNIPPET_FALLBACK_CHARS,
    FacetValue,
    IndexBusy,
    IndexEntry,
    SearchHit,
    SearchIndexError,
    SearchQueryError,
    SearchResults,
    SearchScope,
    SearchTimeout,
    entry_id,
    fold,
)
from documents.search.engines import (
    BACKENDS,
    DEFAULT_BACKEND,
    backend_of,
    check_backend,
    default_backend,
    open_index,
    rebuild,
    search,
    writing,
)
from documents.search.query import (
    FACET_FIELDS,
    FIELD_ALIASES,
    parse_query,
)
from documents.search.tantivy_engine import TantivyIndex
from documents.search.whoosh_index import (
    IndexWriterSession,
    SearcherCache,
    SearchIndex,
)
from documents.search.whoosh_search import (
    TextFor,
    _term_docs,  # noqa: F401 - read by a test comparing it with Whoosh's own reading
)

__all__ = [
    "BACKENDS",
    "DEFAULT_BACKEND",
    "TantivyIndex",
    "backend_of",
    "check_backend",
    "default_backend",
    "DEFAULT_TIME_LIMIT",
    "ElisionFilter",
    "FACET_FIELDS",
    "FIELD_ALIASES",
    "FacetValue",
    "HIGHLIGHT_TEXT_CAP",
    "INDEX_TEXT_CAP",
    "IndexBusy",
    "IndexEntry",
    "IndexWriterSession",
    "KINDS",
    "MAX_CLAUSES",
    "MAX_PAREN_DEPTH",
    "MAX_PER_PAGE",
    "MAX_PREFIXES",
    "MAX_PREFIX_EXPANSION",
    "MAX_QUERY_LENGTH",
    "MAX_RESULT_WINDOW",
    "MIN_PREFIX_LENGTH",
    "NATIONAL",
    "SCHEMA_VERSION",
    "SNIPPET_FALLBACK_CHARS",
    "SearchHit",
    "SearchIndex",
    "SearchIndexError",
    "SearchQueryError",
    "SearchResults",
    "SearchScope",
    "SearchTimeout",
    "SearcherCache",
    "TextFor",
    "build_schema",
    "entry_id",
    "fold",
    "french_analyzer",
    "open_index",
    "parse_query",
    "rebuild",
    "search",
    "writing",
]

# Whoosh pickles the schema into each index's table of contents, naming the
# field classes by module path: indexes written before the package split name
# ``documents.search._OnePassText``, and must still open without a rebuild.
from documents.search.analysis import _OnePassText  # noqa: E402,F401
