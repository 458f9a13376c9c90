"""Benchmark of documents.search: indexing rate and search latency against bare Whoosh.

Generates N French-like documents of about 2,000 words (vocabulary taken from the
founding protocol when it is available, Zipf-distributed), rebuilds an index with
``documents.search.rebuild``, then times ``search()`` (parse, scope filter, facets,
highlighted snippets) against a bare Whoosh MultifieldParser query + ``hit.highlights``
on the same index, and the worst time of hostile queries.

    .venv/bin/python bench/search_engine.py --docs 2000
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchkit import percentile, timed  # noqa: E402

from documents.search import (  # noqa: E402
    IndexEntry,
    SearchQueryError,
    SearchScope,
    entry_id,
    open_index,
    rebuild,
    search,
)

PROTOCOL = Path(__file__).resolve().parents[1].parent / "shared/brief/000_360ba534fe266b89.txt"
# The protocol was extracted from a PDF with broken accents; repair the common ones.
REPAIRS = str.maketrans({"®": "é", "ô": "'", "¨": "à", "¯": "è", "ò": '"', "¹": "ô", "°": "ê"})
FALLBACK = (
    "convention coordination régionale comité pilotage cinéma image éducation jeunes quartier "
    "projection atelier réalisateur partenaire collectivité bilan évaluation avenant protocole "
    "signataire région département commune association festival pratique action culturelle "
    "hôpital prison rural politique ville dispositif financement subvention objectif annuel"
).split()
REGIONS = ["11", "21", "22", "23", "24", "25", "26", "31", "41", "42", "43", "52", "53", "54",
           "72", "73", "74", "82", "83", "91", "93", "94", "national"]
TYPES = ["convention", "avenant", "bilan", "compte-rendu", "protocole", "contrat-objectifs", "etude"]
STATUSES = ["brouillon", "en signature", "signé", "archivé"]

QUERIES = [
    "convention",
    "coordination régionale",
    "hopital",
    '"comité de pilotage"',
    "cinéma jeunes quartier",
    "type:convention coordination",
    "region:93 OR atelier",
    "éducation -festival",
    "conven*",
    "annee:2010 statut:signe",
    "partenaires OR collectivités",
    "coordinaton",  # typo: zero hits, suggestion path
]
HOSTILE = [
    "a*",
    "*ion",
    "con*",
    "pro* re* co*",
    "(" * 8 + "convention" + ")" * 8,
    "(" * 400,
    '"' + "la " * 150,
    " OR ".join(["de", "la", "le"] * 40),
    "annee:[1900 TO 2100]",
    "convention~2 cinema~2",
    "NOT zzzzzz",
    "x" * 600,
]


def vocabulary() -> list[str]:
    """Words of the protocol (accents repaired), most frequent first."""
    try:
        text = PROTOCOL.read_text(encoding="utf-8", errors="replace").translate(REPAIRS)
    except OSError:
        return FALLBACK
    counts: dict[str, int] = {}
    for w in re.findall(r"[^\W\d_]{2,}", text):
        counts[w.lower()] = counts.get(w.lower(), 0) + 1
    words = sorted(counts, key=lambda w: -counts[w])
    return words + [w for w in FALLBACK if w not in counts]


def make_corpus(n: int, words_per_doc: int, seed: int) -> tuple[list[IndexEntry], dict[str, str]]:
    """N entries with Zipf-distributed words, and their texts by id."""
    rng = random.Random(seed)
    vocab = vocabulary()
    weights = [1.0 / (rank + 1) for rank in range(len(vocab))]
    entries: list[IndexEntry] = []
    texts: dict[str, str] = {}
    for i in range(n):
        words = rng.choices(vocab, weights, k=words_per_doc)
        sentences = []
        for start in range(0, len(words), 15):
            chunk = words[start : start + 15]
            sentences.append(" ".join(chunk).capitalize() + ".")
        text = " ".join(sentences)
        year = rng.randint(2005, 2015)
        eid = entry_id("document", i)
        texts[eid] = text
        entries.append(
            IndexEntry(
                id=eid, kind="document", title=" ".join(rng.choices(vocab[:400], k=6)).capitalize(),
                text=text, type=rng.choice(TYPES), region=rng.choice(REGIONS), year=year,
                status=rng.choice(STATUSES), date=datetime(year, rng.randint(1, 12), rng.randint(1, 28)),
            )
        )
    return entries, texts


class BareWhoosh:
    """The baseline of both search benchmarks: Whoosh's own parser, search and highlights.

    ``MultifieldParser(["title", "text"])`` + ``search(limit=20)`` + ``hit.highlights("text")``
    on the same index, with the texts from memory: no scope, no facets.
    """

    def __init__(self, wix: Any, text_of: Callable[[str], str]) -> None:
        from whoosh.qparser import MultifieldParser

        self.searcher = wix.searcher()
        self.parser = MultifieldParser(["title", "text"], wix.schema)
        self.text_of = text_of

    def __call__(self, q: str) -> None:
        from whoosh import highlight

        results = self.searcher.search(self.parser.parse(q), limit=20)
        results.formatter = highlight.HtmlFormatter()
        for hit in results:
            hit.highlights("text", text=self.text_of(hit["id"]))

    def close(self) -> None:
        self.searcher.close()


class BareTantivy:
    """The tantivy baseline: its own index of the same texts (stored), query parser, top 20, exact count, snippets.

    Same French analysis as the product's tantivy engine (registered under the same
    names), ``parse_query`` over title and text, ``search(limit=20, count=True)`` and a
    ``SnippetGenerator`` on the stored text: no scope, no facets.
    """

    def __init__(self, folder: Path, docs: Iterable[tuple[str, str, str]]) -> None:
        import tantivy

        from documents.search import tantivy_engine

        sb = tantivy.SchemaBuilder()
        sb.add_text_field("id", stored=True, tokenizer_name="raw")
        sb.add_text_field("title", stored=True, tokenizer_name="fr")
        sb.add_text_field("text", stored=True, tokenizer_name="fr")
        self.schema = sb.build()
        folder.mkdir(parents=True, exist_ok=True)
        self.index = tantivy_engine._register(tantivy.Index(self.schema, path=str(folder), reuse=False))
        start = time.perf_counter()
        writer = self.index.writer(heap_size=256_000_000)
        count = 0
        for eid, title, text in docs:
            writer.add_document(tantivy.Document(id=[eid], title=[title], text=[text]))
            count += 1
        writer.commit()
        writer.wait_merging_threads()
        del writer
        self.rate = count / (time.perf_counter() - start)
        self.index.reload()
        self.searcher = self.index.searcher()

    def __call__(self, q: str) -> None:
        import tantivy

        query = self.index.parse_query(q, ["title", "text"], field_boosts={"title": 3.0})
        found = self.searcher.search(query, 20, count=True)
        snippets = tantivy.SnippetGenerator.create(self.searcher, query, self.schema, "text")
        for _score, address in found.hits:
            snippets.snippet_from_doc(self.searcher.doc(address)).to_html()

    def close(self) -> None:
        del self.searcher


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=2000)
    parser.add_argument("--words", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--procs", type=int, default=1)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()

    t0 = time.perf_counter()
    entries, texts = make_corpus(args.docs, args.words, args.seed)
    print(f"corpus: {args.docs} docs x {args.words} words generated in {time.perf_counter() - t0:.1f} s")

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "index"
        t0 = time.perf_counter()
        rebuild(root, entries, procs=args.procs, backend="whoosh")
        took = time.perf_counter() - t0
        size = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
        print(f"indexing: {took:.1f} s, {args.docs / took:.0f} docs/s (procs={args.procs}), "
              f"index {size / 1e6:.0f} MB")

        ix = open_index(root)
        text_for = lambda ids: {i: texts[i] for i in ids}  # noqa: E731
        all_scope = SearchScope.all()
        regional = SearchScope.only({"93", "national"})
        _, wix = ix.current()
        bare = BareWhoosh(wix, texts.__getitem__)

        rows = []
        for q in QUERIES:
            r = search(ix, q, scope=all_scope, text_for=text_for)
            ours = timed(lambda: search(ix, q, scope=all_scope, text_for=text_for), args.repeat)
            scoped = timed(lambda: search(ix, q, scope=regional, text_for=text_for), args.repeat)
            raw = timed(lambda: bare(q), args.repeat)
            rows.append((q, r.total, ours, scoped, raw))

        print()
        print(f"{'query':34} {'hits':>5} | {'search() p50':>12} {'p95':>7} | {'regional p50':>12} {'p95':>7}"
              f" | {'bare whoosh p50':>15} {'p95':>7}   (ms)")
        print("-" * 118)
        for q, total, ours, scoped, raw in rows:
            print(f"{q[:34]:34} {total:>5} | {percentile(ours, 50):>12.1f} {percentile(ours, 95):>7.1f} | "
                  f"{percentile(scoped, 50):>12.1f} {percentile(scoped, 95):>7.1f} | "
                  f"{percentile(raw, 50):>15.1f} {percentile(raw, 95):>7.1f}")
        allv = [v for row in rows for v in row[2]]
        rawv = [v for row in rows for v in row[4]]
        print("-" * 118)
        print(f"{'all queries':34} {'':>5} | {percentile(allv, 50):>12.1f} {percentile(allv, 95):>7.1f} | "
              f"{'':>12} {'':>7} | {percentile(rawv, 50):>15.1f} {percentile(rawv, 95):>7.1f}")

        print()
        print(f"{'hostile query':40} {'outcome':>10} {'search() worst ms':>18}")
        worst = 0.0
        for q in HOSTILE:
            times = []
            outcome = ""
            for _ in range(3):
                start = time.perf_counter()
                try:
                    r = search(ix, q, scope=all_scope, text_for=text_for)
                    outcome = f"{r.total} hits"
                except SearchQueryError:
                    outcome = "refused"
                times.append((time.perf_counter() - start) * 1000)
            worst = max(worst, max(times))
            print(f"{q[:40]!r:40} {outcome:>10} {max(times):>18.1f}")
        print(f"worst hostile query: {worst:.1f} ms (bound: 1000 ms)")
        for q in ("a*", "*ion"):
            start = time.perf_counter()
            n = len(bare.searcher.search(bare.parser.parse(q), limit=20))
            print(f"for comparison, bare whoosh {q!r}: {n} hits in {(time.perf_counter() - start) * 1000:.0f} ms")
        bare.close()
        ix.close()


if __name__ == "__main__":
    main()
