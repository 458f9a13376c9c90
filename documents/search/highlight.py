"""Highlighted titles and snippets from the stored text, for any engine (given its analyzer)."""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Collection, Sequence

from whoosh.analysis.analyzers import CompositeAnalyzer
from whoosh.support.charset import accent_map

from documents.search.common import HIGHLIGHT_TEXT_CAP, SNIPPET_FALLBACK_CHARS

logger = logging.getLogger(__name__)

# --------------------------------------------------------------------------
# Highlighting
# --------------------------------------------------------------------------


# Length-preserving fold used only to find candidate words quickly: every
# character maps to exactly one character, so offsets stay those of the text.
_GATE_MAP: dict[int, str] = {k: v for k, v in accent_map.items() if isinstance(v, str) and len(v) == 1}
_GATE_MAP.update({ord("œ"): "o", ord("Œ"): "o", ord("æ"): "a", ord("Æ"): "a"})
_GATE_LEN = 3


class _Highlighter:
    """Finds the words of a text whose stem is one of the query's, and formats them.

    Re-analysing a whole document with the stemmer is the cost of a search
    page (measured: ~15 ms per 2,000-word text).  Here a regex over a folded
    copy first picks the words that start like a query stem (stems are
    prefixes of the folded word), and only those go through the analyzer.
    Every piece of document text is HTML-escaped; only our ``<mark>`` is markup.
    """

    def __init__(self, terms: Collection[str], analyzer: CompositeAnalyzer) -> None:
        self.terms = frozenset(terms)
        self.analyzer = analyzer
        self.cache: dict[str, bool] = {}
        gates = sorted({t[:_GATE_LEN] for t in self.terms if t}, key=lambda g: (-len(g), g))
        self.pattern = (
            re.compile(r"(?<!\w)(?:%s)\w*" % "|".join(map(re.escape, gates)), re.IGNORECASE)
            if gates
            else None
        )

    def spans(self, text: str) -> list[tuple[int, int]]:
        """Character spans of the matching words in ``text``."""
        if self.pattern is None or not text:
            return []
        out = []
        for m in self.pattern.finditer(text.translate(_GATE_MAP)):
            word = text[m.start() : m.end()]
            key = word.lower()
            hit = self.cache.get(key)
            if hit is None:
                hit = any(t.text in self.terms for t in self.analyzer(word))
                self.cache[key] = hit
            if hit:
                out.append((m.start(), m.end()))
        return out

    @staticmethod
    def mark(text: str, spans: Sequence[tuple[int, int]], start: int, end: int) -> str:
        """Escaped ``text[start:end]`` with ``<mark>`` around the spans inside it."""
        out, pos = [], start
        for a, b in spans:
            if a < pos or b > end:
                continue
            out.append(html.escape(text[pos:a], quote=True))
            out.append("<mark>%s</mark>" % html.escape(text[a:b], quote=True))
            pos = b
        out.append(html.escape(text[pos:end], quote=True))
        return "".join(out)

    def whole(self, text: str) -> str | None:
        """The whole (short) text with marks, or None if nothing matches."""
        spans = self.spans(text)
        return self.mark(text, spans, 0, len(text)) if spans else None

    def snippet(self, text: str, *, maxchars: int = 200, surround: int = 60, top: int = 3) -> str | None:
        """Up to ``top`` fragments around the densest groups of matches, or None."""
        text = text[:HIGHLIGHT_TEXT_CAP]
        spans = self.spans(text)
        if not spans:
            return None
        groups: list[list[tuple[int, int]]] = []
        for span in spans:
            if groups and span[1] - groups[-1][0][0] <= maxchars:
                groups[-1].append(span)
            else:
                groups.append([span])

        def richness(g: list[tuple[int, int]]) -> tuple[int, int, int]:
            distinct = len({text[a:b].lower() for a, b in g})
            return (-distinct, -len(g), g[0][0])

        best = sorted(sorted(groups, key=richness)[:top], key=lambda g: g[0][0])
        windows: list[list[int]] = []
        for g in best:
            a = max(0, g[0][0] - surround)
            b = min(len(text), g[-1][1] + surround)
            # Cut at spaces so that words are not sliced.
            if a > 0:
                sp = text.find(" ", a, g[0][0])
                a = sp + 1 if sp >= 0 else a
            if b < len(text):
                sp = text.rfind(" ", g[-1][1], b)
                b = sp if sp >= 0 else b
            if windows and a <= windows[-1][1]:
                windows[-1][1] = max(windows[-1][1], b)
            else:
                windows.append([a, b])
        parts = [" ".join(self.mark(text, spans, a, b).split()) for a, b in windows]
        out = " … ".join(parts)
        if windows[0][0] > 0:
            out = "… " + out
        if windows[-1][1] < len(text):
            out += " …"
        return out


def _plain_snippet(text: str) -> str:
    text = " ".join(text[: SNIPPET_FALLBACK_CHARS * 2].split())
    if len(text) > SNIPPET_FALLBACK_CHARS:
        text = text[:SNIPPET_FALLBACK_CHARS].rsplit(" ", 1)[0] + " …"
    return html.escape(text, quote=True)
