"""Benchmark of the échéances: dashboard and échéances page through the real app, and the bare SQL.

Builds a migrated database (SQLite by default) holding N documents of which M are dated
agreements (date d'effet + durée, or an explicit échéance; some tacitly renewed, most with a
préavis), rows inserted directly then their deadlines stored by
``documents.deadline_store.rebuild_all`` (the same arithmetic as every edit). Then, logged in
through the real login form of the Flask test client, for a national and a regional account:

- ``GET /`` (the dashboard: recent documents, overdue dates, the next 30 days),
- ``GET /documents/echeances`` (overdue, 30 and 90 days),
- the bare SQL of the échéances page (upcoming 90 days + overdue, scoped), for the ratio.

    .venv/bin/python bench/deadlines_bench.py
    .venv/bin/python bench/deadlines_bench.py --docs 20000 --dated 8500 --repeat 40
    .venv/bin/python bench/deadlines_bench.py --database-url postgresql://postgres@127.0.0.1/empty_db
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
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from benchkit import bench_app, percentile, timed  # noqa: E402

AGREEMENTS = ["convention", "avenant", "contrat_objectifs", "protocole"]
OTHERS = ["bilan", "compte_rendu", "cahier_des_charges", "autre"]
STATUSES = ["brouillon", "en_signature", "signe", "signe", "signe", "archive"]
PASSWORD = "Bench-password-2026!"


def build(url: str, n: int, dated: int, seed: int) -> int:
    """Migrate, load the référentiel and two accounts, insert the documents, store their deadlines."""
    from sqlalchemy import insert, select, text

    from documents import accounts, deadline_store, migrate, reference
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
    today = dt.date.today()
    now = dt.datetime.now(dt.UTC)
    dated_ids = set(rng.sample(range(n), dated))
    t0 = time.perf_counter()
    for start in range(0, n, 2000):
        rows = []
        for i in range(start, min(n, start + 2000)):
            row: dict[str, Any] = {
                "id": i + 1, "title": f"Document {i + 1:05d} {rng.choice(['Convention', 'Bilan', 'Avenant'])}",
                "doc_type": rng.choice(OTHERS), "region_code": rng.choice(regions), "year": rng.randint(2009, 2026),
                "status": rng.choice(STATUSES), "tacit_renewal": False, "keywords": "", "notes": "",
                "created_at": now, "updated_at": now,
            }
            if i in dated_ids:
                effective = today - dt.timedelta(days=rng.randint(0, 6 * 365))
                row.update(doc_type=rng.choice(AGREEMENTS), effective_date=effective,
                           tacit_renewal=rng.random() < 0.4, notice_months=rng.choice([None, 1, 2, 3, 3, 6]))
                if rng.random() < 0.7:
                    row["duration_months"] = rng.choice([12, 12, 24, 36])
                else:
                    row["end_date"] = effective + dt.timedelta(days=rng.randint(180, 4 * 365))
            rows.append(row)
        session.execute(insert(Document), rows)
        session.commit()
    inserted = time.perf_counter() - t0
    t0 = time.perf_counter()
    written = deadline_store.rebuild_all(session, today=today)
    session.commit()
    if url.startswith("postgresql"):
        # What autovacuum does within a minute of a bulk load in production: without statistics
        # the planner guesses, and the first minute would be measured instead of the steady state.
        session.execute(text("ANALYZE"))
        session.commit()
    print(f"database: {n} documents ({dated} dated agreements) inserted in {inserted:.1f} s; "
          f"{written} deadline rows stored in {time.perf_counter() - t0:.1f} s", flush=True)
    session.close()
    engine.dispose()
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=20000)
    parser.add_argument("--dated", type=int, default=8500)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--seed", type=int, default=2009)
    parser.add_argument("--database-url", default=None, help="an EMPTY database (default: scratch SQLite)")
    args = parser.parse_args()

    from sqlalchemy import select

    from documents import deadline_lists
    from documents.models import User
    from intranet.library.deadline_views import PAGE_ROWS
    from intranet.library.views import HORIZON_LONG, HORIZON_SHORT, today_paris

    with contextlib.ExitStack() as stack:
        data = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="deadlines-bench-")))
        url = args.database_url or f"sqlite:///{data / 'intranet.sqlite3'}"
        build(url, args.docs, args.dated, args.seed)
        app = bench_app(data, url)
        factory = app.extensions["db_factory"]
        backend = url.split(":", 1)[0]
        print(f"\nbackend {backend}, {args.docs} documents, {args.dated} dated agreements, {args.repeat} runs each, "
              f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs\n")
        print("| Account | What | Dates | p50 (ms) | p95 (ms) | mean (ms) |")
        print("|---|---|---:|---:|---:|---:|")
        for email in ("national@bench.fr", "idf@bench.fr"):
            client = app.test_client()
            login = client.post("/connexion", data={"email": email, "password": PASSWORD})
            assert login.status_code == 302, login.status_code
            session = factory()
            user = session.scalar(select(User).where(User.email == email))
            today = today_paris()

            def bare_sql() -> int:
                # The page's three queries as it runs them (PAGE_ROWS + 1 rows each), without Flask or template.
                session.expunge_all()
                limit = PAGE_ROWS + 1
                overdue = deadline_lists.overdue_deadlines(session, user, today=today, limit=limit)
                soon = deadline_lists.upcoming_deadlines(session, user, today=today, days=HORIZON_SHORT, limit=limit)
                later = deadline_lists.upcoming_deadlines(session, user, today=today, days=HORIZON_LONG,
                                                          from_days=HORIZON_SHORT + 1, limit=limit)
                return len(overdue) + len(soon) + len(later)

            def totals() -> str:
                overdue = deadline_lists.overdue_deadlines(session, user, today=today)
                upcoming = deadline_lists.upcoming_deadlines(session, user, today=today, days=HORIZON_LONG)
                return f"{len(overdue)} overdue + {len(upcoming)} in 90 d"

            def page(path: str) -> Callable[[], None]:
                def get() -> None:
                    response = client.get(path)
                    assert response.status_code == 200, (path, response.status_code)
                return get

            rows = f"{bare_sql()} shown of {totals()}"
            for label, fn in (("dashboard `GET /`", page("/")),
                              ("échéances page `GET /documents/echeances`", page("/documents/echeances")),
                              ("SQL only: the page's 3 queries (`deadline_lists`)", bare_sql)):
                times = timed(fn, args.repeat)
                print(f"| {email.split('@')[0]} | {label} | {rows} | {percentile(times, 50):.1f} | "
                      f"{percentile(times, 95):.1f} | {statistics.mean(times):.1f} |", flush=True)
            session.close()
        app.extensions["db_engine"].dispose()


if __name__ == "__main__":
    main()
