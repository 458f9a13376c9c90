"""Benchmark of « En signature »: the page through the real app, the domain list, and the bare SQL.

Builds a migrated database (SQLite by default) holding N documents of which M are agreements
« en signature », each with 1 to 3 recorded steps (inserted directly). Then, logged in through
the real login form of the Flask test client, for a national and a regional account:

- ``GET /signatures/`` (the page: at most 500 rows, the longest wait first),
- ``documents.signatures.awaiting_signature`` (the domain list the page and the dashboard use),
- the bare SQL of that list (scoped select + last step's date, ordered, 501 rows), for the ratio;

and once, ``signature_reminders`` over the whole set (first run: every due reminder queued; second
run the same day: nothing, the check of « once per period »).

    .venv/bin/python bench/signatures_bench.py
    .venv/bin/python bench/signatures_bench.py --docs 20000 --waiting 2000 --repeat 20
    .venv/bin/python bench/signatures_bench.py --database-url postgresql://postgres@127.0.0.1/empty_db
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from benchkit import bench_app, percentile, timed  # noqa: E402

SIGNABLE = ["convention", "avenant", "contrat_objectifs", "protocole"]
OTHERS = ["bilan", "compte_rendu", "cahier_des_charges", "autre"]
PASSWORD = "Bench-password-2026!"


def build(url: str, n: int, waiting: int, seed: int) -> None:
    """Migrate, load the référentiel and two accounts, insert the documents and their steps."""
    from sqlalchemy import insert, select, text

    from documents import accounts, migrate, reference
    from documents.db import make_engine, make_session_factory
    from documents.models import Document, Region, SignatureStep, User

    migrate.upgrade(url)
    engine = make_engine(url)
    session = make_session_factory(engine)()
    reference.load_reference(session)
    accounts.configure_hasher(time_cost=1, memory_cost=8 * 1024)
    for email, role, region in (("national@bench.fr", "national", None), ("idf@bench.fr", "regional", "11")):
        accounts.create_user(session, email=email, role=role, region_code=region, password=PASSWORD)
    session.commit()
    sender = session.scalar(select(User.id).where(User.email == "idf@bench.fr"))
    regions = [r for r in session.scalars(select(Region.code).where(Region.valid_until.is_(None)))] + [None]
    rng = random.Random(seed)
    today = dt.date.today()
    now = dt.datetime.now(dt.UTC)
    waiting_ids = set(rng.sample(range(n), waiting))
    t0 = time.perf_counter()
    for start in range(0, n, 2000):
        docs, steps = [], []
        for i in range(start, min(n, start + 2000)):
            wait = i in waiting_ids
            docs.append({
                "id": i + 1, "title": f"Document {i + 1:05d}", "doc_type": rng.choice(SIGNABLE if wait else OTHERS),
                "region_code": rng.choice(regions), "year": rng.randint(2009, 2026),
                "status": "en_signature" if wait else rng.choice(["brouillon", "signe", "archive"]),
                "tacit_renewal": False, "keywords": "", "notes": "", "created_at": now, "updated_at": now,
            })
            if wait:
                day = today - dt.timedelta(days=rng.randint(0, 120))
                for seq, kind in enumerate(["envoi", "coordination"][:rng.randint(1, 2)], start=1):
                    steps.append({"document_id": i + 1, "cycle": 1, "seq": seq, "kind": kind,
                                  "signatory": "DRAC" if seq == 1 else "", "step_date": day, "reason": "",
                                  "actor_id": sender, "created_at": now})
                    day = min(today, day + dt.timedelta(days=rng.randint(0, 20)))
        session.execute(insert(Document), docs)
        if steps:
            session.execute(insert(SignatureStep), steps)
        session.commit()
    if url.startswith("postgresql"):
        session.execute(text("ANALYZE"))
        session.commit()
    print(f"database: {n} documents ({waiting} en signature, with their steps) inserted in "
          f"{time.perf_counter() - t0:.1f} s", flush=True)
    session.close()
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=20000)
    parser.add_argument("--waiting", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--seed", type=int, default=2009)
    parser.add_argument("--database-url", default=None, help="an EMPTY database (default: scratch SQLite)")
    args = parser.parse_args()

    from sqlalchemy import func, select

    from documents import archive, signatures
    from documents.models import DocStatus, Document, SignatureStep, User
    from documents.signatures.waiting import MAX_ROWS
    from documents.unitofwork import unit_of_work

    with contextlib.ExitStack() as stack:
        data = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="signatures-bench-")))
        url = args.database_url or f"sqlite:///{data / 'intranet.sqlite3'}"
        build(url, args.docs, args.waiting, args.seed)
        app = bench_app(data, url)
        factory = app.extensions["db_factory"]
        backend = url.split(":", 1)[0]
        print(f"\nbackend {backend}, {args.docs} documents, {args.waiting} en signature, {args.repeat} runs each, "
              f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs\n")
        print("| Account | What | Rows | p50 (ms) | p95 (ms) | mean (ms) |")
        print("|---|---|---:|---:|---:|---:|")
        for email in ("national@bench.fr", "idf@bench.fr"):
            client = app.test_client()
            assert client.post("/connexion", data={"email": email, "password": PASSWORD}).status_code == 302
            session = factory()
            user = session.scalar(select(User).where(User.email == email))

            def bare_sql() -> int:
                session.expunge_all()
                last = (select(SignatureStep.document_id, func.max(SignatureStep.step_date).label("since"))
                        .group_by(SignatureStep.document_id).subquery())
                stmt = (archive.visible_documents(user)
                        .where(Document.status == DocStatus.EN_SIGNATURE.value)
                        .outerjoin(last, last.c.document_id == Document.id)
                        .order_by(last.c.since.asc().nulls_first(), Document.id).limit(MAX_ROWS + 1))
                return len(session.scalars(stmt).all())

            def domain() -> int:
                session.expunge_all()
                return len(signatures.awaiting_signature(session, user, limit=MAX_ROWS + 1))

            def page() -> None:
                response = client.get("/signatures/")
                assert response.status_code == 200, response.status_code

            rows = f"{min(domain(), MAX_ROWS)} shown"
            for label, fn in (("page `GET /signatures/`", page), ("`awaiting_signature` (domain)", domain),
                              ("SQL only: scoped select + last step, 501 rows", bare_sql)):
                times = timed(fn, args.repeat)
                print(f"| {email.split('@')[0]} | {label} | {rows} | {percentile(times, 50):.1f} | "
                      f"{percentile(times, 95):.1f} | {statistics.mean(times):.1f} |", flush=True)
            session.close()
        for run in ("first", "second (same day)"):
            start = time.perf_counter()
            with unit_of_work(factory) as session:
                report = signatures.signature_reminders(session, dt.date.today())
            print(f"\nsignature_reminders, {run} run: {report.sent} reminders queued, {len(report.skipped)} skipped, "
                  f"{(time.perf_counter() - start):.2f} s", flush=True)
        app.extensions["db_engine"].dispose()


if __name__ == "__main__":
    main()
