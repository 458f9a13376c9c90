"""French analysis for Whoosh (tokenizer, folding, elision, stop words, stemming) and the index schema."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from typing import Any

from whoosh.analysis import (
    CharsetFilter,
    Filter,
    IDTokenizer,
    LowercaseFilter,
    RegexTokenizer,
    StemFilter,
    StopFilter,
)
from whoosh.analysis.analyzers import CompositeAnalyzer
from whoosh.fields import DATETIME, ID, KEYWORD, TEXT, Schema
from whoosh.lang import stopwords_for_language

from documents.search.common import _APOSTROPHES, _ELISION_RE, _ELISIONS, _FOLD_MAP, _WORD_PATTERN, fold

logger = logging.getLogger(__name__)

class ElisionFilter(Filter):  # type: ignore[misc]  # Whoosh has no type information
    """Drops French elided articles and pronouns: "l'hôpital" -> "hopital"."""

    def __call__(self, tokens):  # type: ignore[no-untyped-def]  # Whoosh has no type information
        for t in tokens:
            text = t.text
            if "'" not in text and "’" not in text and "ʼ" not in text:
                yield t  # fast path: most words have no apostrophe
                continue
            text = text.translate(_APOSTROPHES)
            m = _ELISION_RE.match(text)
            if m and len(text) > m.end():
                cut = m.end()
                text = text[cut:]
                # Keep highlights on the word itself, not on "l'".
                if t.chars and t.startchar is not None:
                    t.startchar += cut
            t.text = text
            yield t


_FOLDED_STOPWORDS = frozenset(fold(w) for w in stopwords_for_language("fr")) | frozenset(
    _ELISIONS
)


def french_analyzer() -> CompositeAnalyzer:
    """Tokenize, lowercase, fold accents, drop elisions and stop words, then stem (French)."""
    return (
        RegexTokenizer(_WORD_PATTERN)
        | LowercaseFilter()
        | CharsetFilter(_FOLD_MAP)
        | ElisionFilter()
        | StopFilter(stoplist=_FOLDED_STOPWORDS, minsize=1, maxsize=60)
        | StemFilter(lang="fr", cachesize=100_000)
    )


def _id_analyzer() -> CompositeAnalyzer:
    # Filter values are folded so that ``statut:signe`` finds "signé".
    return IDTokenizer() | LowercaseFilter() | CharsetFilter(_FOLD_MAP)


def _keyword_field() -> KEYWORD:
    kw = KEYWORD(lowercase=True, commas=True, scorable=False)
    kw.analyzer = kw.analyzer | CharsetFilter(_FOLD_MAP)
    return kw


class _RecordingAnalyzer:
    """Runs ``analyzer`` and notes each word as it is just before stemming."""

    def __init__(self, analyzer: CompositeAnalyzer, sink: set[str]) -> None:
        self.analyzer = analyzer
        self.sink = sink

    def _record(self, tokens: Iterable[Any]) -> Iterator[Any]:
        add = self.sink.add
        for t in tokens:
            add(t.text)
            yield t

    def __call__(self, value, **kwargs):  # type: ignore[no-untyped-def]  # Whoosh has no type information
        items = self.analyzer.items
        gen = items[0](value, **kwargs)
        recorded = False
        for item in items[1:]:
            if not recorded and getattr(item, "is_morph", False):
                gen = self._record(gen)
                recorded = True
            gen = item(gen)
        return gen if recorded else self._record(gen)


class _OnePassText(TEXT):  # type: ignore[misc]  # Whoosh has no type information
    """TEXT whose spelling word list comes from the indexing pass itself.

    Whoosh analyses a spelling field twice (once stemmed for the postings,
    once with ``no_morph`` for the word list): measured, the second pass was
    ~18 % of the indexing time.  Same words, same index, one analysis.
    """

    def index(self, value, **kwargs):  # type: ignore[no-untyped-def]  # Whoosh has no type information
        if not isinstance(value, str) or not self.spelling:
            yield from super().index(value, **kwargs)
            return
        kwargs.setdefault("mode", "index")
        words: set[str] = set()
        for tstring, freq, wt, vbytes in self.format.word_values(
            value, _RecordingAnalyzer(self.analyzer, words), **kwargs
        ):
            yield (tstring.encode("utf-8"), freq, wt, vbytes)
        # The writer asks for the word list of this very value right after.
        self._spelling_memo = (value, words)

    def spellable_words(self, value):  # type: ignore[no-untyped-def]  # Whoosh has no type information
        memo = self.__dict__.pop("_spelling_memo", None)
        if memo is not None and memo[0] is value:
            return iter(sorted(memo[1]))
        return super().spellable_words(value)

    def __getstate__(self) -> dict[str, object]:
        # The schema is pickled into the index's table of contents.
        state = dict(self.__dict__)
        state.pop("_spelling_memo", None)
        return state


def build_schema() -> Schema:
    """Schema of the index (see ``IndexEntry`` for the meaning of each field)."""
    analyzer = french_analyzer()
    return Schema(
        id=ID(unique=True, stored=True),
        kind=ID(stored=True, sortable=True, analyzer=_id_analyzer()),
        title=_OnePassText(analyzer=analyzer, stored=True, field_boost=3.0, spelling=True),
        # Not stored: snippets come from the caller's stored extraction.
        text=_OnePassText(analyzer=analyzer, stored=False, spelling=True),
        type=ID(stored=True, sortable=True, analyzer=_id_analyzer()),
        region=ID(stored=True, sortable=True, analyzer=_id_analyzer()),
        year=ID(stored=True, sortable=True, analyzer=_id_analyzer()),
        status=ID(stored=True, sortable=True, analyzer=_id_analyzer()),
        version=ID(stored=True, analyzer=_id_analyzer()),
        parties=_keyword_field(),
        quartiers=_keyword_field(),
        keywords=_keyword_field(),
        date=DATETIME(stored=True, sortable=True),
        updated=DATETIME(stored=True, sortable=True),
    )
