"""Benchmark of the deadline alerts, the deadlines feed and the paged deadlines API.

Builds the corpus of ``deadlines_bench.py`` (N documents, M dated agreements, deadlines stored by
``deadline_store.rebuild_all``), adds accounts (per current region: two regional and one lecteur;
plus national accounts and an administrator), then measures:

- ``notify_deadlines`` for the first time (every alert of the day, one digest per account), committed;
- the same the next day (the steady daily cost: nearly everything already sent);
- the bare scoped queries it runs (``deadline_lists`` overdue + 90 days, once per distinct scope),
  for the ratio;
- ``GET /documents/echeances/flux/<token>.ics`` (national and IDF) and the bare feed query;
- ``GET /api/v1/deadlines?per_page=50&page=2`` (national and IDF).

    .venv/bin/python bench/alerts_bench.py --docs 20000 --dated 8500
    .venv/bin/python bench/alerts_bench.py --database-url postgresql://postgres@127.0.0.1/empty_db
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from benchkit import bench_app  # noqa: E402
from deadlines_bench import PASSWORD, build, percentile, timed  # noqa: E402


def add_accounts(session: Any) -> int:
    """Two regional accounts and a lecteur per current region, five national accounts, one administrator."""
    from sqlalchemy import select

    from documents import accounts
    from documents.models import Region

    count = 0
    codes = session.scalars(select(Region.code).where(Region.valid_until.is_(None))).all()
    for code in codes:
        for role, n in (("regional", 2), ("lecteur", 1)):
            for i in range(n):
                accounts.create_user(session, email=f"{role}{i}.{code}@bench.fr", role=role, region_code=code,
                                     password=PASSWORD)
                count += 1
    for i in range(5):
        accounts.create_user(session, email=f"national{i}@bench.fr", role="national", password=PASSWORD)
        count += 1
    accounts.create_user(session, email="admin@bench.fr", role="admin", password=PASSWORD)
    session.commit()
    return count + 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=20000)
    parser.add_argument("--dated", type=int, default=8500)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--seed", type=int, default=2009)
    parser.add_argument("--database-url", default=None, help="an EMPTY database (default: scratch SQLite)")
    args = parser.parse_args()

    from sqlalchemy import func, select

    from documents import accounts, deadline_alerts, deadline_feed, deadline_lists, permissions
    from documents.models import MailOutbox, User
    from documents.unitofwork import unit_of_work
    from intranet.library.alerts import alert_links
    from intranet.library.views import today_paris

    with contextlib.ExitStack() as stack:
        data = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="alerts-bench-")))
        url = args.database_url or f"sqlite:///{data / 'intranet.sqlite3'}"
        build(url, args.docs, args.dated, args.seed)
        app = bench_app(data, url)
        factory = app.extensions["db_factory"]
        with unit_of_work(factory) as session:
            accounts.configure_hasher(time_cost=1, memory_cost=8 * 1024)
            users = add_accounts(session) + 2  # and the two accounts of deadlines_bench
        today = today_paris()
        print(f"\nbackend {url.split(':', 1)[0]}, {args.docs} documents, {args.dated} dated agreements, "
              f"{users} accounts, load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs\n")
        print("| What | Size | Time (ms) |")
        print("|---|---|---:|")

        def notify(day: dt.date) -> deadline_alerts.NotifyReport:
            with alert_links(app) as links, unit_of_work(factory) as session:
                return deadline_alerts.notify_deadlines(session, today=day, links=links)

        def bare_scopes() -> int:
            # What notify reads at least: the two scoped lists, once per distinct scope.
            session = factory()
            seen, rows = set(), 0
            for user in session.scalars(select(User).order_by(User.id)):
                scope = permissions.visible_regions(user)
                if scope in seen:
                    continue
                seen.add(scope)
                rows += len(deadline_lists.overdue_deadlines(session, user, today=today))
                rows += len(deadline_lists.upcoming_deadlines(session, user, today=today, days=90))
            session.close()
            return rows

        t0 = time.perf_counter()
        rows = bare_scopes()
        bare_ms = (time.perf_counter() - t0) * 1000
        t0 = time.perf_counter()
        first = notify(today)
        first_ms = (time.perf_counter() - t0) * 1000
        with unit_of_work(factory) as session:
            size = session.scalar(select(func.sum(func.length(MailOutbox.body)))) or 0
        print(f"| bare scoped queries (overdue + 90 d, once per distinct scope) | {rows} dates | {bare_ms:.0f} |")
        print(f"| `notify_deadlines`, first run (committed) | {first.messages} messages, {first.alerts} alerts, "
              f"{size // 1024} KiB of text | {first_ms:.0f} |")
        t0 = time.perf_counter()
        again = notify(today)
        print(f"| `notify_deadlines`, second run the same day | {again.messages} messages | "
              f"{(time.perf_counter() - t0) * 1000:.0f} |")
        t0 = time.perf_counter()
        nextday = notify(today + dt.timedelta(days=1))
        print(f"| `notify_deadlines`, the next day | {nextday.messages} messages, {nextday.alerts} alerts | "
              f"{(time.perf_counter() - t0) * 1000:.0f} |")

        print("\n| Account | What | Size | p50 (ms) | p95 (ms) | mean (ms) |")
        print("|---|---|---:|---:|---:|---:|")
        for email in ("national@bench.fr", "idf@bench.fr"):
            with unit_of_work(factory) as session:
                user = session.scalar(select(User).where(User.email == email))
                token = deadline_feed.create_feed_token(session, user)
                _t, api_token = accounts.create_token(session, user, "bench")
            client = app.test_client()
            api = app.test_client()
            api.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {api_token}"
            session = factory()
            user = session.scalar(select(User).where(User.email == email))

            def feed() -> None:
                response = client.get(f"/documents/echeances/flux/{token}.ics")
                assert response.status_code == 200, response.status_code

            def bare_feed() -> int:
                session.expunge_all()
                return len(deadline_feed.feed_deadlines(session, user, today=today))

            def api_page() -> None:
                response = api.get("/api/v1/deadlines?per_page=50&page=2")
                assert response.status_code == 200, response.status_code

            events = bare_feed()
            total = api.get("/api/v1/deadlines?per_page=1").get_json()["total"]
            for label, fn, size_text in (
                    ("feed `GET …/echeances/flux/<token>.ics`", feed, f"{events} events"),
                    ("bare feed query (`feed_deadlines`)", bare_feed, f"{events} events"),
                    ("API `GET /api/v1/deadlines?per_page=50&page=2`", api_page, f"50 of {total}")):
                times = timed(fn, args.repeat)
                print(f"| {email.split('@')[0]} | {label} | {size_text} | {percentile(times, 50):.1f} | "
                      f"{percentile(times, 95):.1f} | {statistics.mean(times):.1f} |", flush=True)
            session.close()
        app.extensions["db_engine"].dispose()


if __name__ == "__main__":
    main()
