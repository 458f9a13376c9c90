"""Benchmark of the agreements' money: national table, a region's timeline, and the bare SQL sum for the ratio.

Builds a migrated database (SQLite by default) holding, for every region of both maps and every
year of a span, one convention with its four amounts entered, 0–2 avenants linked to it (« modifie »)
raising one or two lines, and one contrat d'objectifs in three with a convention linked to it
(« relève de »); one convention in four has no entered amount but a drafting provenance
(``Generation.input_values``) instead. Rows are inserted directly. Then:

- ``GET /conventions`` (national table) and ``GET /regions/11/conventions`` through the real app
  (Flask test client, logged in through the login form), as a national account;
- the verbs alone (``national_table``, ``region_timeline``: no Flask, no template);
- the bare SQL: one ``SUM(amount_cents) GROUP BY region, year, line`` over the entered amounts
  (no avenant applied, no draft values, no scope), for the ratio.

    .venv/bin/python bench/timeline_bench.py
    .venv/bin/python bench/timeline_bench.py --years 17 --repeat 30
    .venv/bin/python bench/timeline_bench.py --database-url postgresql://postgres@127.0.0.1/empty_db
"""

from __future__ import annotations

import argparse
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

PASSWORD = "Bench-password-2026!"
LINES = ["mission_coordination", "projets_coordination", "formation", "sensibilisation"]
FIELDS = {"mission_coordination": "montant_mission_coordination", "projets_coordination": "montant_projets_coordination",
          "formation": "montant_formation", "sensibilisation": "montant_sensibilisation"}


def build(url: str, years: int, seed: int) -> dict[str, int]:
    """Migrate, load the référentiel and an account, insert the agreements, their amounts and links."""
    from sqlalchemy import insert, select

    from documents import accounts, migrate, reference
    from documents.db import make_engine, make_session_factory
    from documents.models import AgreementAmount, Document, DocumentLink, Generation, Region

    migrate.upgrade(url)
    engine = make_engine(url)
    session = make_session_factory(engine)()
    reference.load_reference(session)
    accounts.configure_hasher(time_cost=1, memory_cost=8 * 1024)
    accounts.create_user(session, email="national@bench.fr", role="national", password=PASSWORD)
    session.commit()
    regions = list(session.scalars(select(Region)))
    rng = random.Random(seed)
    now = dt.datetime.now(dt.UTC)
    first = dt.date.today().year - years + 1
    docs: list[dict[str, Any]] = []
    amounts: list[dict[str, Any]] = []
    links: list[dict[str, Any]] = []
    generations: list[dict[str, Any]] = []
    next_id = 1

    def doc(title: str, kind: str, region: str, year: int, signed: dt.date | None) -> int:
        nonlocal next_id
        docs.append({"id": next_id, "title": title, "doc_type": kind, "region_code": region, "year": year,
                     "status": "signe" if signed else "brouillon", "signature_date": signed, "tacit_renewal": False,
                     "keywords": "", "notes": "", "created_at": now, "updated_at": now, "unlock_reason": ""})
        next_id += 1
        return next_id - 1

    for region in regions:
        # A region counts in its years: the 2009 map until 2015, today's after.
        valid_to = int(region.valid_until.isoformat()[:4]) if region.valid_until else 9999
        valid_from = int(region.valid_from.isoformat()[:4]) if region.valid_from else 0
        for year in range(first, first + years):
            if not valid_from <= year <= valid_to:
                continue
            contract = None
            if rng.random() < 1 / 3:
                contract = doc(f"Contrat d'objectifs {region.name} {year}", "contrat_objectifs", region.code, year,
                               dt.date(year, 1, 15))
                amounts.append({"document_id": contract, "line": "mission_coordination",
                                "amount_cents": rng.randrange(1, 10**7), "updated_at": now})
            convention = doc(f"Convention {region.name} {year}", "convention", region.code, year, dt.date(year, 2, 1))
            values = {line: rng.randrange(100_000, 5_000_000) for line in LINES}
            if rng.random() < 0.25:
                generations.append({"document_id": convention, "version_number": 1, "template_version": 1,
                                    "template_slug": "convention-drac-coordination", "template_sha256": "0" * 64,
                                    "region_code": region.code, "year": year, "created_at": now,
                                    "input_values": {FIELDS[k]: f"{v / 100:.2f}".replace(".", ",")
                                                     for k, v in values.items()}})
            else:
                amounts.extend({"document_id": convention, "line": k, "amount_cents": v, "updated_at": now}
                               for k, v in values.items())
            if contract is not None:
                links.append({"source_id": convention, "target_id": contract, "link_type": "releve_de",
                              "created_at": now})
            for n in range(rng.randrange(3)):
                avenant = doc(f"Avenant {n + 1} {region.name} {year}", "avenant", region.code, year,
                              dt.date(year, 6 + n, 1))
                for line in rng.sample(LINES, rng.randrange(1, 3)):
                    amounts.append({"document_id": avenant, "line": line,
                                    "amount_cents": rng.randrange(100_000, 6_000_000), "updated_at": now})
                links.append({"source_id": avenant, "target_id": convention, "link_type": "modifie",
                              "created_at": now})
    for table, rows in ((Document.__table__, docs), (AgreementAmount.__table__, amounts),
                        (DocumentLink.__table__, links), (Generation.__table__, generations)):
        for start in range(0, len(rows), 2000):
            session.execute(insert(table), rows[start:start + 2000])
    session.commit()
    if url.startswith("postgresql"):
        from sqlalchemy import text

        session.execute(text("ANALYZE"))
        session.commit()
    session.close()
    engine.dispose()
    return {"agreements": len(docs), "amount rows": len(amounts), "links": len(links),
            "draft provenances": len(generations)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--years", type=int, default=17, help="years of agreements per region (default 17)")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--seed", type=int, default=2009)
    parser.add_argument("--database-url", default=None, help="an EMPTY database (default: a scratch SQLite file)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="timeline-bench-") as tmp:
        data_dir = Path(tmp)
        url = args.database_url or f"sqlite:///{data_dir / 'bench.sqlite3'}"
        started = time.perf_counter()
        counts = build(url, args.years, args.seed)
        print(f"Corpus: {counts} in {time.perf_counter() - started:.1f} s ({url.split(':')[0]})")

        from sqlalchemy import func, select

        from documents.agreements import timeline as T
        from documents.models import AgreementAmount, Document, User
        from testkit import csrf_token

        app = bench_app(data_dir, url, WTF_CSRF_ENABLED=True)
        client = app.test_client()
        token = csrf_token(client, "/connexion")
        assert client.post("/connexion", data={"email": "national@bench.fr", "password": PASSWORD,
                                               "csrf_token": token}).status_code == 302
        session = app.extensions["db_factory"]()
        national = session.scalar(select(User).where(User.email == "national@bench.fr"))
        table = T.national_table(session, national)
        bare = (select(Document.region_code, Document.year, AgreementAmount.line, func.sum(AgreementAmount.amount_cents))
                .join(Document, Document.id == AgreementAmount.document_id)
                .group_by(Document.region_code, Document.year, AgreementAmount.line))

        def page(path: str) -> Callable[[], object]:
            def get() -> object:
                response = client.get(path)
                assert response.status_code == 200, response.status_code
                return response
            return get

        cases = [
            ("`GET /conventions` (national table)", page("/conventions")),
            ("`GET /regions/76/conventions` (Occitanie and its two predecessors)", page("/regions/76/conventions")),
            ("`GET /conventions.csv`", page("/conventions.csv")),
            ("verb `national_table`", lambda: T.national_table(session, national)),
            ("verb `region_timeline('76')`", lambda: T.region_timeline(session, national, "76")),
            ("bare SQL: SUM GROUP BY region, year, line", lambda: session.execute(bare).all()),
        ]
        print(f"\n{len(table.regions)} regions × {len(table.all_years)} years; "
              f"load average {os.getloadavg()[0]:.1f}\n")
        print("| What | p50 (ms) | p95 (ms) | mean (ms) |\n|---|---:|---:|---:|")
        results = {}
        for label, fn in cases:
            values = timed(fn, args.repeat)
            results[label] = statistics.median(values)
            print(f"| {label} | {statistics.median(values):.1f} | {percentile(values, 95):.1f} | "
                  f"{statistics.mean(values):.1f} |")
        verb = results["verb `national_table`"]
        print(f"\nRatio national_table / bare SQL sum: {verb / results['bare SQL: SUM GROUP BY region, year, line']:.1f}×")
        session.close()
        app.extensions["db_engine"].dispose()


if __name__ == "__main__":
    main()
