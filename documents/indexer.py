"""The search indexer, by job: one import for the CLI, the web layer, workers and tests.

- ``documents.search.sources``: the registry of what is indexed (documents, meetings), and how
  each object type becomes entries;
- ``documents.search.outbox``: the outbox rows and their drain in batches;
- ``documents.search.rebuilding``: full rebuilds into a new generation, the rebuild marker;
- ``documents.search.worker``: the single indexer loop (``intranet indexer``);
- ``documents.search.archive_search``: searching as a user, and the versions of one document;
- ``documents.search.checking``: ``intranet check`` of the index against the database.
"""

from __future__ import annotations

from documents.search.archive_search import search_archive, search_versions
from documents.search.checking import check_index
from documents.search.outbox import (
    DEFAULT_BATCH,
    DRAIN_LOCK,
    MAX_ATTEMPTS,
    DrainReport,
    SessionFactory,
    drain,
    pending_count,
)
from documents.search.rebuilding import (
    REINDEX_MARKER,
    ReindexReport,
    count_indexable,
    ensure_index,
    needs_reindex,
    reindex_all,
)
from documents.search.sources import SOURCES, IndexSource
from documents.search.worker import INDEXER_LOCK, IndexerRunning, run_indexer

__all__ = [
    "DEFAULT_BATCH",
    "DRAIN_LOCK",
    "DrainReport",
    "INDEXER_LOCK",
    "IndexSource",
    "IndexerRunning",
    "MAX_ATTEMPTS",
    "REINDEX_MARKER",
    "ReindexReport",
    "SOURCES",
    "SessionFactory",
    "check_index",
    "count_indexable",
    "drain",
    "ensure_index",
    "needs_reindex",
    "pending_count",
    "reindex_all",
    "run_indexer",
    "search_archive",
    "search_versions",
]
