"""Which engine serves an index: ``SEARCH_BACKEND`` (``tantivy`` | ``whoosh``) and the live generation.

An index folder keeps one live generation (``CURRENT``); its ``ENGINE`` file
names the engine that wrote it (none: Whoosh, as written before tantivy).  An
existing index is always opened with its own engine; the configured backend
chooses the engine of a new index (fresh, or recreated after damage) and of a
full rebuild, so that ``intranet reindex --backend tantivy`` builds the new
engine's index beside the old one and switches when it is complete.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from documents.search import tantivy_engine, tantivy_search, whoosh_index, whoosh_search
from documents.search.common import DEFAULT_TIME_LIMIT, IndexEntry, SearchResults, SearchScope
from documents.search.tantivy_engine import TantivyIndex
from documents.search.whoosh_index import SearchIndex as WhooshIndex

BACKENDS = ("tantivy", "whoosh")
#: The engine of new indexes: the whole search suite passes on both (SQLite and
#: PostgreSQL); an existing Whoosh index stays Whoosh until ``reindex --backend``.
DEFAULT_BACKEND = "tantivy"

AnyIndex = WhooshIndex | TantivyIndex


def check_backend(name: str) -> str:
    """The backend name, validated (``ValueError`` with a French message otherwise)."""
    value = (name or "").strip().lower()
    if value not in BACKENDS:
        raise ValueError(f"Moteur de recherche inconnu « {name} » : choisissez {' ou '.join(BACKENDS)}.")
    return value


def default_backend() -> str:
    """The configured engine: ``SEARCH_BACKEND`` from the environment, else the default."""
    return check_backend(os.environ.get("SEARCH_BACKEND") or DEFAULT_BACKEND)


def backend_of(root: str | os.PathLike[str]) -> str | None:
    """The engine of the live generation at ``root`` (None when there is none)."""
    root = Path(root)
    name = whoosh_index._read_pointer(root)
    if name is None or not (root / name).is_dir():
        return None
    if tantivy_engine.is_tantivy_generation(root / name) or (root / name / "meta.json").exists():
        return "tantivy"
    return "whoosh"


def open_index(path: str | os.PathLike[str], *, create: bool = True, backend: str | None = None) -> AnyIndex:
    """Open the index at ``path`` with its own engine; a missing or broken one is recreated empty.

    ``backend`` (default: the configured one) is the engine of a new index.
    """
    root = Path(path)
    engine = backend_of(root) or check_backend(backend or default_backend())
    if engine == "tantivy":
        return tantivy_engine.open_index(root, create=create)
    return whoosh_index.open_index(root, create=create)


@contextmanager
def writing(index: AnyIndex, *, timeout: float = 10.0) -> Iterator[Any]:
    """Write to the index with its engine: commits at the end, cancels everything if the block raises."""
    if isinstance(index, TantivyIndex):
        with tantivy_engine.writing(index, timeout=timeout) as w:
            yield w
    else:
        with whoosh_index.writing(index, timeout=timeout) as w:
            yield w


def rebuild(path: str | os.PathLike[str], entries: Iterable[IndexEntry], *, backend: str | None = None,
            procs: int = 1, progress: Callable[[int], None] | None = None, progress_every: int = 100,
            limitmb: int = 128) -> int:
    """Index ``entries`` into a fresh generation of ``backend`` (default: the configured one), swapped in atomically."""
    engine = check_backend(backend or default_backend())
    build = tantivy_engine.rebuild if engine == "tantivy" else whoosh_index.rebuild
    return build(Path(path), entries, procs=procs, progress=progress, progress_every=progress_every,
                 limitmb=limitmb)


def search(index: AnyIndex, query: str, *, scope: SearchScope,
           filters: Mapping[str, str | Sequence[str]] | None = None,
           sort: Literal["relevance", "date"] = "relevance", page: int = 1, per_page: int = 20,
           text_for: Callable[[Sequence[str]], Mapping[str, str]] | None = None, suggest: bool = True,
           time_limit: float = DEFAULT_TIME_LIMIT, exclude_ids: Collection[str] = ()) -> SearchResults:
    """Run a user query restricted to ``scope`` on the index's engine (see ``whoosh_search.search``)."""
    run = tantivy_search.search if isinstance(index, TantivyIndex) else whoosh_search.search
    return run(index, query, scope=scope, filters=filters, sort=sort, page=page,  # type: ignore[arg-type]  # both engines take the same arguments; mypy sees a union of two callables
               per_page=per_page, text_for=text_for, suggest=suggest, time_limit=time_limit,
               exclude_ids=exclude_ids)
