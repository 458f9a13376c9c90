"""Benchmark of search as the product runs it: DB -> reindex_all -> search_archive -> the HTTP page.

Builds a migrated SQLite database holding N French-like documents of about 2,000 words
(rows inserted directly: extraction is not what is measured), then

1. indexing: ``documents.indexer.reindex_all`` (several processes), docs/s;
2. search latency p50/p95 per query family (single terms, two-term AND, phrases, accent
   variants), in the same run and on the same index:
   - ``documents.indexer.search_archive`` (scope, facets, highlighted snippets whose text is
     read from the database), for a national and a regional user,
   - the HTTP search page ``GET /recherche/?q=`` through the Flask test client, logged in
     (session, permissions, facets, first-page highlights, template),
   - bare Whoosh: ``MultifieldParser`` + ``search(limit=20)`` + ``hit.highlights`` on the
     same index, texts from memory;
3. SQLite FTS5 (unicode61, diacritics removed) on the same texts: latency with
   ``snippet()``, and its recall on plurals compared with the French analysis;
4. tantivy: the same database rebuilt by ``reindex_all(backend="tantivy")`` (docs/s),
   ``search_archive`` and the HTTP page on that index (a second app), against bare
   tantivy (its own index of the same texts, same analysis, ``parse_query`` + top 20 +
   exact count + ``SnippetGenerator``).

    .venv/bin/python bench/search_bench.py --docs 2000
    .venv/bin/python bench/search_bench.py --docs 20000 --procs 2
    .venv/bin/python bench/search_bench.py --docs 20000 --database-url postgresql://postgres@127.0.0.1/empty_db
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import itertools
import os
import random
import resource
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from benchkit import bench_app, percentile, timed  # noqa: E402
from search_engine import FALLBACK, BareTantivy, BareWhoosh, vocabulary  # noqa: E402

QUERIES = {
    "single term": ["convention", "coordination", "culture", "partenaires", "projets"],
    "two-term AND": ["coordination régionale", "cinéma jeunes", "comité national", "convention région",
                     "projets culturels"],
    "phrase": ['"comité de pilotage"', '"coordination régionale"', '"politique de la ville"',
               '"passeurs d\'images"'],
    "accent variant": ["region", "regionale", "éducation", "education", "ministere", "cinema"],
}
DOC_TYPES = ["convention", "avenant", "bilan", "compte_rendu", "protocole", "contrat_objectifs",
             "cahier_des_charges"]
STATUSES = ["brouillon", "en_signature", "signe", "archive"]
PLURALS = [("coordination", "coordinations"), ("région", "régions"), ("partenaire", "partenaires"),
           ("projet", "projets"), ("action", "actions"), ("jeune", "jeunes")]


def make_texts(n: int, words: int, seed: int) -> list[tuple[str, str]]:
    """(title, text) pairs: Zipf-distributed words of the founding protocol, in sentences."""
    rng = random.Random(seed)
    vocab = vocabulary()
    weights = [1.0 / (rank + 1) for rank in range(len(vocab))]
    cum = list(itertools.accumulate(weights))
    phrases = ["comité de pilotage", "coordination régionale", "politique de la ville", "passeurs d'images",
               "éducation à l'image", "hôpital de jour"]
    out = []
    for _ in range(n):
        chosen = rng.choices(vocab, cum_weights=cum, k=words)
        sentences = []
        for start in range(0, len(chosen), 15):
            chunk = chosen[start:start + 15]
            if rng.random() < 0.3:
                chunk.insert(rng.randrange(len(chunk) + 1), rng.choice(phrases))
            sentences.append(" ".join(chunk).capitalize() + ".")
        title = " ".join(rng.choices(vocab[:400] or FALLBACK, k=6)).capitalize()
        out.append((title, " ".join(sentences)))
    return out


def build_database(url: str, n: int, words: int, seed: int) -> dict[str, int]:
    """Migrate, load the reference data and accounts, insert N documents with their text."""
    from sqlalchemy import insert, select

    from documents import accounts, migrate, reference
    from documents.db import make_engine, make_session_factory
    from documents.models import Document, DocumentVersion, Region

    migrate.upgrade(url)
    engine = make_engine(url)
    session = make_session_factory(engine)()
    reference.load_reference(session)
    accounts.configure_hasher(time_cost=1, memory_cost=8 * 1024)
    for email, role, region in (("national@bench.fr", "national", None), ("idf@bench.fr", "regional", "11")):
        accounts.create_user(session, email=email, role=role, region_code=region, password="Bench-password-2026!")
    session.commit()
    regions = [r for r in session.scalars(select(Region.code))] + [None]
    rng = random.Random(seed)
    t0 = time.perf_counter()
    texts = make_texts(n, words, seed)
    print(f"corpus: {n} docs x ~{words} words generated in {time.perf_counter() - t0:.1f} s", flush=True)
    now = dt.datetime.now(dt.UTC)
    t0 = time.perf_counter()
    for start in range(0, n, 1000):
        docs, versions = [], []
        for i in range(start, min(n, start + 1000)):
            year = rng.randint(2005, 2015)
            docs.append({"id": i + 1, "title": texts[i][0], "doc_type": rng.choice(DOC_TYPES),
                         "region_code": rng.choice(regions), "year": year, "status": rng.choice(STATUSES),
                         "signature_date": dt.date(year, rng.randint(1, 12), rng.randint(1, 28)),
                         "tacit_renewal": False, "keywords": "", "notes": "", "created_at": now, "updated_at": now})
            versions.append({"document_id": i + 1, "number": 1, "sha256": f"{i + 1:064x}", "size": 1,
                             "filename": f"doc{i + 1}.docx", "kind": "docx", "mime_type": "application/octet-stream",
                             "comment": "", "created_at": now, "text": texts[i][1], "text_status": "ok",
                             "text_reason": "", "origin": {}})
        session.execute(insert(Document), docs)
        session.execute(insert(DocumentVersion), versions)
        session.commit()
    print(f"database: {n} documents inserted in {time.perf_counter() - t0:.1f} s", flush=True)
    session.close()
    engine.dispose()
    return {"regions": len(regions)}


def cpu_seconds() -> float:
    """CPU time of this process, every thread included (tantivy indexes in its own threads)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def load() -> str:
    return "/".join(f"{v:.1f}" for v in os.getloadavg())


def bare_tantivy_indexing(folder: Path, docs: list[tuple[str, str, str]], threads: int,
                          heap_mb: int) -> tuple[float, float]:
    """Bare tantivy with the product's schema and analysis: (docs/s, CPU ms per doc).

    Same fields, analyzers, writer threads and heap as ``tantivy_engine.rebuild``, the
    documents already in memory: the difference with the product is reading the
    database and building the entries.
    """
    import tantivy

    from documents.search import tantivy_engine

    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    ix = tantivy_engine._register(tantivy.Index(tantivy_engine.build_schema(), path=str(folder), reuse=False))
    start, cpu = time.perf_counter(), cpu_seconds()
    writer = ix.writer(heap_size=heap_mb * 1_000_000, num_threads=threads)
    for eid, title, text in docs:
        doc = tantivy.Document()
        doc.add_text("id", eid)
        doc.add_text("title", title)
        doc.add_text("text", text)
        doc.add_text("words", title)
        doc.add_text("words", text)
        writer.add_document(doc)
    writer.commit()
    writer.wait_merging_threads()
    del writer
    took, used = time.perf_counter() - start, cpu_seconds() - cpu
    shutil.rmtree(folder, ignore_errors=True)
    return len(docs) / took, used * 1000 / len(docs)


def fts5(db: Path, texts: dict[int, tuple[str, str]]) -> sqlite3.Connection:
    db.unlink(missing_ok=True)  # a reused --data folder holds the previous run's table
    conn = sqlite3.connect(str(db))
    conn.execute("CREATE VIRTUAL TABLE docs USING fts5(title, body, tokenize='unicode61 remove_diacritics 2')")
    conn.executemany("INSERT INTO docs(rowid, title, body) VALUES (?, ?, ?)",
                     ((i, t, b) for i, (t, b) in texts.items()))
    conn.commit()
    return conn


def fts_query(q: str) -> str:
    # FTS5 syntax: bare words are ANDed, "..." are phrases; apostrophes split words.
    return q.replace("'", " ")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=2000)
    parser.add_argument("--words", type=int, default=2000)
    parser.add_argument("--procs", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--data", type=Path, default=None,
                        help="keep the database and index in this folder and reuse them on the next run "
                             "(the 20k build takes minutes); default: a temporary folder")
    parser.add_argument("--build-only", action="store_true", help="build (or reuse) the corpus, then stop")
    parser.add_argument("--engines", choices=("both", "tantivy"), default="both",
                        help="tantivy: leave Whoosh out (its 20k build takes most of an hour on a loaded machine)")
    parser.add_argument("--reindex-tantivy", action="store_true",
                        help="rebuild the tantivy index of a reused --data folder (to measure indexing again)")
    parser.add_argument("--database-url", default=None,
                        help="an EMPTY PostgreSQL database (postgresql://…) instead of a SQLite file in the "
                             "data folder: the page then reads its snippets' texts from PostgreSQL")
    args = parser.parse_args()

    from sqlalchemy import select

    from documents import indexer
    from documents.models import Document, DocumentVersion, User
    from documents.search import SearchQueryError
    from intranet import create_app

    with contextlib.ExitStack() as stack:
        if args.data is None:
            data = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="search-bench-")))
        else:
            data = args.data
            data.mkdir(parents=True, exist_ok=True)
        url = args.database_url or f"sqlite:///{data / 'intranet.sqlite3'}"
        reuse = (data / "built").exists()
        if reuse:
            print(f"reusing the database and index in {data} (remove it to rebuild)", flush=True)
        else:
            build_database(url, args.docs, args.words, args.seed)
        app = bench_app(data, url)
        factory = app.extensions["db_factory"]
        root = Path(app.config["INDEX_DIR"])

        whoosh = args.engines == "both"
        if not reuse and whoosh:
            t0 = time.perf_counter()
            report = indexer.reindex_all(factory, root, procs=args.procs, backend="whoosh")
            took = time.perf_counter() - t0
            size = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
            rate = report.count / took
            print(f"indexing: reindex_all(procs={args.procs}, backend=whoosh) {report.count} docs in {took:.1f} s = "
                  f"{rate:.0f} docs/s, index {size / 1e6:.0f} MB", flush=True)
        if not reuse and args.data is not None:
            (data / "built").write_text(f"{args.docs}\n", encoding="ascii")
        if args.build_only:
            app.extensions["db_engine"].dispose()
            return

        # The same database indexed by tantivy, served by a second app on that index.
        root_t = data / "index-tantivy"
        indexing: list[str] = []
        if not (root_t / "CURRENT").exists() or args.reindex_tantivy:
            print(f"load average before tantivy indexing: {load()}", flush=True)
            t0, c0 = time.perf_counter(), cpu_seconds()
            report_t = indexer.reindex_all(factory, root_t, procs=args.procs, backend="tantivy")
            took, used = time.perf_counter() - t0, cpu_seconds() - c0
            size = sum(p.stat().st_size for p in root_t.rglob("*") if p.is_file())
            indexing.append(f"| product: `reindex_all(backend=\"tantivy\", procs={args.procs})` | {report_t.count} | "
                            f"{took:.1f} | {report_t.count / took:.0f} | {used * 1000 / report_t.count:.2f} | {load()} |")
            print(f"indexing: reindex_all(backend=tantivy) {report_t.count} docs in {took:.1f} s = "
                  f"{report_t.count / took:.0f} docs/s, CPU {used * 1000 / report_t.count:.2f} ms/doc, "
                  f"index {size / 1e6:.0f} MB, load {load()}", flush=True)
            with factory() as s:
                corpus = [(f"document:{i}", t, x or "") for i, t, x in s.execute(
                    select(Document.id, Document.title, DocumentVersion.text)
                    .join(DocumentVersion, DocumentVersion.document_id == Document.id))]
            rate, per_doc = bare_tantivy_indexing(data / "bare-tantivy-indexing", corpus, args.procs, 128)
            indexing.append(f"| bare tantivy, same schema and analysis, texts in memory | {len(corpus)} | "
                            f"{len(corpus) / rate:.1f} | {rate:.0f} | {per_doc:.2f} | {load()} |")
            print(f"indexing: bare tantivy (same schema) {rate:.0f} docs/s, CPU {per_doc:.2f} ms/doc, "
                  f"load {load()}", flush=True)
            del corpus
        app_t = create_app({**app.config, "INDEX_DIR": str(root_t)})

        session = factory()
        national = session.scalar(select(User).where(User.email == "national@bench.fr"))
        regional = session.scalar(select(User).where(User.email == "idf@bench.fr"))
        texts = {int(d): (t or "") for d, t in session.execute(select(DocumentVersion.document_id,
                                                                      DocumentVersion.text))}
        titles = {int(i): t for i, t in session.execute(select(Document.id, Document.title))}
        index_t = indexer.ensure_index(root_t)
        index = indexer.ensure_index(root) if whoosh else index_t
        if whoosh:
            _, wix = index.current()
            bare = BareWhoosh(wix, lambda entry: texts[int(entry.split(":")[1])])
        shutil.rmtree(data / "bare-tantivy", ignore_errors=True)
        bare_t = BareTantivy(data / "bare-tantivy", ((f"document:{i}", titles.get(i, ""), texts[i]) for i in texts))
        print(f"bare tantivy: {bare_t.rate:.0f} docs/s (title and text stored, one writer)", flush=True)

        refused: dict[str, int] = {"ours": 0, "page": 0, "regional": 0}

        def ours(q: str, user: User = national, key: str = "ours") -> None:
            try:
                indexer.search_archive(session, index, q, user=user)
            except SearchQueryError:  # the 1 s time bound of a search answered instead
                refused[key] += 1

        client = app.test_client()
        login = client.post("/connexion", data={"email": "national@bench.fr", "password": "Bench-password-2026!"})
        assert login.status_code == 302, login.status_code

        client_t = app_t.test_client()
        login = client_t.post("/connexion", data={"email": "national@bench.fr", "password": "Bench-password-2026!"})
        assert login.status_code == 302, login.status_code
        refused["tantivy"] = refused["page_t"] = 0

        def page(q: str, web: Any = client, key: str = "page") -> None:
            response = web.get("/recherche/", query_string={"q": q})
            if response.status_code == 400:
                refused[key] += 1  # "La recherche a pris trop de temps…"
            else:
                assert response.status_code == 200, (q, response.status_code)

        def api(q: str, web: Any = client, key: str = "api") -> None:
            response = web.get("/api/v1/search", query_string={"q": q})
            if response.status_code == 400:
                refused[key] += 1
            else:
                assert response.status_code == 200, (q, response.status_code)

        refused["api"] = refused["api_t"] = 0

        def ours_t(q: str) -> None:
            try:
                indexer.search_archive(session, index_t, q, user=national)
            except SearchQueryError:
                refused["tantivy"] += 1

        print("building SQLite FTS5 on the same texts…", flush=True)
        t0 = time.perf_counter()
        fts = fts5(data / "fts.sqlite3", {i: (titles.get(i, ""), texts[i]) for i in texts})
        print(f"FTS5 built in {time.perf_counter() - t0:.1f} s", flush=True)

        def fts_search(q: str) -> None:
            fts.execute("SELECT rowid, snippet(docs, 1, '<mark>', '</mark>', '…', 20) FROM docs WHERE docs MATCH ? "
                        "ORDER BY rank LIMIT 20", (fts_query(q),)).fetchall()

        rows = []
        all_page, all_bare = [], []
        for family, queries in QUERIES.items():
            fam: dict[str, list[float]] = {"ours": [], "regional": [], "page": [], "api": [], "bare": [],
                                           "fts": [], "ours_t": [], "page_t": [], "api_t": [], "bare_t": []}
            hits = []
            for q in queries:
                hits.append(indexer.search_archive(session, index, q, user=national, time_limit=30).total)
                if whoosh:
                    fam["ours"] += timed(lambda: ours(q), args.repeat)
                    # A regional user: the scope filter and exact counts over the allowed matches only.
                    fam["regional"] += timed(lambda: ours(q, regional, "regional"), args.repeat)
                    fam["page"] += timed(lambda: page(q), args.repeat)
                    fam["api"] += timed(lambda: api(q), args.repeat)
                    fam["bare"] += timed(lambda: bare(q), args.repeat)
                fam["fts"] += timed(lambda: fts_search(q), args.repeat)
                fam["ours_t"] += timed(lambda: ours_t(q), args.repeat)
                fam["page_t"] += timed(lambda: page(q, client_t, "page_t"), args.repeat)
                fam["api_t"] += timed(lambda: api(q, client_t, "api_t"), args.repeat)
                fam["bare_t"] += timed(lambda: bare_t(q), args.repeat)
            all_page += fam["page"]
            all_bare += fam["bare"]
            rows.append((family, statistics.mean(hits), fam))

        print()
        print(f"load average after the search runs: {load()}")
        if indexing:
            print()
            print("| indexing | docs | s | docs/s | CPU ms/doc (all threads) | load average 1/5/15 min |")
            print("|---|---:|---:|---:|---:|---|")
            print("\n".join(indexing))
        print()
        print(f"{args.docs} documents, {url.split(':')[0]}; latency in ms (p50 / p95), {args.repeat} runs per query")
        for family, mean_hits, fam in rows:
            print(f"{family}: {mean_hits:.0f} hits on average; SQLite FTS5 {percentile(fam['fts'], 50):.1f} / "
                  f"{percentile(fam['fts'], 95):.1f} ms")
        header = ("| query family | mean hits | search_archive | search_archive (regional) | HTTP page | API "
                  "| bare Whoosh | page / bare (p95) | API / bare (p95) | SQLite FTS5 |")
        print(header)
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        all_api: list[float] = []
        for family, mean_hits, fam in (rows if whoosh else []):
            all_api += fam["api"]
            cells = [f"{percentile(fam[k], 50):.0f} / {percentile(fam[k], 95):.0f}"
                     for k in ("ours", "regional", "page", "api", "bare")]
            ratio = percentile(fam["page"], 95) / percentile(fam["bare"], 95)
            ratio_api = percentile(fam["api"], 95) / percentile(fam["bare"], 95)
            fts_cell = f"{percentile(fam['fts'], 50):.1f} / {percentile(fam['fts'], 95):.1f}"
            print(f"| {family} | {mean_hits:.0f} | {' | '.join(cells)} | {ratio:.2f}× | {ratio_api:.2f}× | {fts_cell} |")
        if whoosh:
            print(f"| all | | | | {percentile(all_page, 50):.0f} / {percentile(all_page, 95):.0f} | "
                  f"{percentile(all_api, 50):.0f} / {percentile(all_api, 95):.0f} | "
                  f"{percentile(all_bare, 50):.0f} / {percentile(all_bare, 95):.0f} | "
                  f"{percentile(all_page, 95) / percentile(all_bare, 95):.2f}× | "
                  f"{percentile(all_api, 95) / percentile(all_bare, 95):.2f}× | |")

        print()
        print(f"tantivy, same corpus and queries; latency in ms (p50 / p95), {args.repeat} runs per query")
        print("| query family | search_archive | HTTP page | API | bare tantivy | page / bare (p95) | API / bare (p95) |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        all_page_t, all_api_t, all_bare_t = [], [], []
        for family, _mean_hits, fam in rows:
            all_page_t += fam["page_t"]
            all_api_t += fam["api_t"]
            all_bare_t += fam["bare_t"]
            cells = [f"{percentile(fam[k], 50):.1f} / {percentile(fam[k], 95):.1f}"
                     for k in ("ours_t", "page_t", "api_t", "bare_t")]
            ratio = percentile(fam["page_t"], 95) / percentile(fam["bare_t"], 95)
            ratio_api = percentile(fam["api_t"], 95) / percentile(fam["bare_t"], 95)
            print(f"| {family} | {' | '.join(cells)} | {ratio:.2f}× | {ratio_api:.2f}× |")
        print(f"| all | | {percentile(all_page_t, 50):.1f} / {percentile(all_page_t, 95):.1f} | "
              f"{percentile(all_api_t, 50):.1f} / {percentile(all_api_t, 95):.1f} | "
              f"{percentile(all_bare_t, 50):.1f} / {percentile(all_bare_t, 95):.1f} | "
              f"{percentile(all_page_t, 95) / percentile(all_bare_t, 95):.2f}× | "
              f"{percentile(all_api_t, 95) / percentile(all_bare_t, 95):.2f}× |")
        print(f"tantivy answered by the time bound: search_archive {refused['tantivy']}, HTTP page {refused['page_t']}, "
              f"API {refused['api_t']}")
        print(f"answered by the 1 s time bound instead of results: search_archive {refused['ours']}, "
              f"regional {refused['regional']}, "
              f"HTTP page {refused['page']} (of {args.repeat + 1} runs per query)")
        print()
        print("recall on plurals (documents found; the French analysis stems, FTS5 unicode61 does not)")
        print("| singular / plural | ours (singular) | ours (plural) | FTS5 (singular) | FTS5 (plural) |")
        print("|---|---:|---:|---:|---:|")
        for singular, plural in PLURALS:
            counts = []
            for q in (singular, plural):
                counts.append(indexer.search_archive(session, index, q, user=national, per_page=1,
                                                     time_limit=30).total)
            for q in (singular, plural):
                counts.append(fts.execute("SELECT count(*) FROM docs WHERE docs MATCH ?", (fts_query(q),))
                              .fetchone()[0])
            print(f"| {singular} / {plural} | {counts[0]} | {counts[1]} | {counts[2]} | {counts[3]} |")
        fts.close()
        if whoosh:
            bare.close()
        bare_t.close()
        index.close()
        index_t.close()
        session.close()
        from intranet.search.views import reset_index

        reset_index(app)
        reset_index(app_t)
        app.extensions["db_engine"].dispose()
        app_t.extensions["db_engine"].dispose()


if __name__ == "__main__":
    main()
