"""Benchmark of the document picker's suggestions: ``GET /api/v1/documents/suggest`` and the bare SQL.

Builds a migrated database (SQLite by default) holding N documents with French titles (accents,
regions, years), rows inserted directly. Then, logged in through the real login form of the Flask
test client, for a national and a regional account, for queries a user types (a word, two words
with accents left out, a number):

- ``GET /api/v1/documents/suggest?q=…`` (the whole request: auth, scope, fold, JSON),
- ``documents.suggest.suggest_documents`` alone (the domain verb),
- the same query without accent folding (same scope, words, order, limit): what the folding costs,
- the bare library: a plain ``title LIKE '%word%'`` over the same table, ten rows, no scope, no order
  and no folding, for the ratio.

    .venv/bin/python bench/suggest_bench.py
    .venv/bin/python bench/suggest_bench.py --docs 20000 --repeat 30
    .venv/bin/python bench/suggest_bench.py --database-url postgresql://postgres@127.0.0.1/empty_db
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import random
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

KINDS = [("convention", "Convention de coordination"), ("avenant", "Avenant n° 1 à la convention"),
         ("bilan", "Bilan qualitatif et quantitatif"), ("compte_rendu", "Compte rendu du comité de pilotage"),
         ("contrat_objectifs", "Contrat d'objectifs"), ("autre", "Étude sur l'éducation à l'image")]
PLACES = ["Île-de-France", "Provence-Alpes-Côte d'Azur", "Rhône-Alpes", "Hauts-de-France", "Bretagne",
          "Nouvelle-Aquitaine", "Occitanie", "Grand Est", "Centre-Val de Loire", "Normandie"]
PASSWORD = "Bench-password-2026!"
QUERIES = ["convention", "ile de france", "comite pilotage", "12345"]


def build(url: str, n: int, seed: int) -> None:
    """Migrate, load the référentiel and two accounts, insert the documents."""
    from sqlalchemy import insert, select, text

    from documents import accounts, migrate, reference
    from documents.db import make_engine, make_session_factory
    from documents.models import Document, Region

    migrate.upgrade(url)
    engine = make_engine(url)
    session = make_session_factory(engine)()
    reference.load_reference(session)
    accounts.configure_hasher(time_cost=1, memory_cost=8 * 1024)
    for email, role, region in (("national@bench.fr", "national", None), ("idf@bench.fr", "regional", "11")):
        accounts.create_user(session, email=email, role=role, region_code=region, password=PASSWORD)
    session.commit()
    regions = [r for r in session.scalars(select(Region.code).where(Region.valid_until.is_(None)))] + [None]
    rng = random.Random(seed)
    now = dt.datetime.now(dt.UTC)
    t0 = time.perf_counter()
    for start in range(0, n, 2000):
        rows: list[dict[str, Any]] = []
        for i in range(start, min(n, start + 2000)):
            doc_type, title = rng.choice(KINDS)
            year = rng.randint(2009, 2026)
            rows.append({
                "id": i + 1, "title": f"{title} {rng.choice(PLACES)} {year}", "doc_type": doc_type,
                "region_code": rng.choice(regions), "year": year, "status": "signe", "tacit_renewal": False,
                "keywords": "", "notes": "", "created_at": now, "updated_at": now - dt.timedelta(minutes=i),
            })
        session.execute(insert(Document), rows)
        session.commit()
    if url.startswith("postgresql"):
        session.execute(text("ANALYZE"))
        session.commit()
    print(f"database: {n} documents inserted in {time.perf_counter() - t0:.1f} s", flush=True)
    session.close()
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--seed", type=int, default=2009)
    parser.add_argument("--database-url", default=None, help="an EMPTY database (default: scratch SQLite)")
    args = parser.parse_args()

    from sqlalchemy import select

    from documents import suggest
    from documents.models import Document, User

    with contextlib.ExitStack() as stack:
        data = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="suggest-bench-")))
        url = args.database_url or f"sqlite:///{data / 'intranet.sqlite3'}"
        build(url, args.docs, args.seed)
        app = bench_app(data, url)
        factory = app.extensions["db_factory"]
        backend = url.split(":", 1)[0]
        print(f"\nbackend {backend}, {args.docs} documents, {args.repeat} runs each, "
              f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs\n")
        print("| Account | Query | What | Rows | p50 (ms) | p95 (ms) | mean (ms) |")
        print("|---|---|---|---:|---:|---:|---:|")
        for email in ("national@bench.fr", "idf@bench.fr"):
            client = app.test_client()
            login = client.post("/connexion", data={"email": email, "password": PASSWORD})
            assert login.status_code == 302, login.status_code
            session = factory()
            user = session.scalar(select(User).where(User.email == email))
            for query in QUERIES:
                def api(q: str = query) -> int:
                    response = client.get("/api/v1/documents/suggest", query_string={"q": q})
                    assert response.status_code == 200, response.status_code
                    return int(response.get_json()["count"])

                def verb(q: str = query) -> int:
                    session.expunge_all()
                    return len(suggest.suggest_documents(session, user, q))

                def same_scope(q: str = query) -> int:
                    # The verb's query without the accent folding: same scope, words, order and limit.
                    from documents.archive import visible_documents
                    stmt = visible_documents(user).with_only_columns(Document.id)
                    for word in q.split():
                        stmt = stmt.where(Document.title.like(f"%{word}%"))
                    stmt = stmt.order_by(Document.updated_at.desc(), Document.id.desc()).limit(10)
                    return len(session.execute(stmt).all())

                def bare(q: str = query) -> int:
                    word = q.split()[0]
                    stmt = select(Document.id, Document.title).where(Document.title.like(f"%{word}%")).limit(10)
                    return len(session.execute(stmt).all())

                for label, fn in (("`GET /api/v1/documents/suggest`", api), ("`suggest_documents` (verb)", verb),
                                  ("same scope and order, `LIKE` without folding", same_scope),
                                  ("bare `title LIKE` (1st word, unscoped)", bare)):
                    rows = fn()
                    times = timed(fn, args.repeat)
                    print(f"| {email.split('@')[0]} | `{query}` | {label} | {rows} | {percentile(times, 50):.1f} | "
                          f"{percentile(times, 95):.1f} | {statistics.mean(times):.1f} |", flush=True)
            session.close()
        app.extensions["db_engine"].dispose()


if __name__ == "__main__":
    main()
