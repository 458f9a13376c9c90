"""Shared end-to-end helpers: the real app on a live port and a headless Chromium page.

Other e2e test modules get the fixtures through ``tests/e2e/conftest.py``; helpers are
imported as ``from e2e.browser import login, LiveServer``.

- ``live_server``: the app served by werkzeug on 127.0.0.1 and a free port, in a thread,
  on a fresh data folder holding a copy of the test database (SQLite only: e2e tests are
  about the browser, the backends are covered by the rest of the suite).
- ``browser``: one Chromium per test session (Debian's ``/usr/bin/chromium``; the tests are
  skipped when it is missing; never ``playwright install``).
- ``page``: a fresh browser context and page per test, in French; console errors and
  failed requests (a CSP violation, a 404 asset) are collected in ``page.problems``; a
  test that visits an error page on purpose adds its URL to ``page.expected_errors``.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from testkit import PASSWORD, USERS

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
#: Requests whose failure is not the page's fault.
IGNORED = ("/favicon.ico",)
#: Playwright's default timeout is 30 s; a local page that takes 20 s (on a loaded CI machine) is a failure.
TIMEOUT_MS = 20_000


@dataclass
class LiveServer:
    """A running instance of the intranet."""

    url: str
    app: Any
    data_dir: Path
    problems: list[str] = field(default_factory=list)

    def path(self, path: str) -> str:
        """Absolute URL of ``path``."""
        return self.url + path


@pytest.fixture
def live_server(sqlite_template: Path, tmp_path: Path) -> Iterator[LiveServer]:
    """The intranet on http://127.0.0.1:<free port>, on its own copy of the test database."""
    from werkzeug.serving import make_server

    from intranet import create_app
    from intranet.search.views import reset_index

    data_dir = tmp_path / "live"
    data_dir.mkdir()
    database = data_dir / "intranet.sqlite3"
    shutil.copyfile(sqlite_template, database)
    app = create_app({
        "SECRET_KEY": "e2e-secret-key-" + "x" * 32,
        "DATA_DIR": str(data_dir),
        "DATABASE_URL": f"sqlite:///{database}",
        "STORAGE_DIR": str(data_dir / "files"),
        "INDEX_DIR": str(data_dir / "index"),
        "MAIL_OUTBOX_DIR": str(data_dir / "mail"),
    })
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(url=f"http://127.0.0.1:{server.server_port}", app=app, data_dir=data_dir)
    finally:
        server.shutdown()
        thread.join(10)
        server.server_close()
        reset_index(app)
        app.extensions["db_engine"].dispose()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """A headless Chromium shared by the session's e2e tests."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} absent : installez le paquet Debian chromium pour les tests e2e")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A new page in a French, desktop-sized context; ``page.problems`` lists browser errors."""
    context = browser.new_context(locale="fr-FR", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    tab = context.new_page()
    problems: list[str] = []

    def on_console(msg: Any) -> None:
        # Browsers ask for /favicon.ico on their own; the intranet has none (a known 404).
        url = msg.location.get("url", "")
        if msg.type in ("error", "warning") and not url.endswith(IGNORED) and url not in tab.expected_errors:
            problems.append(f"console {msg.type}: {msg.text} ({msg.location.get('url', '')})")

    def on_response(resp: Any) -> None:
        if resp.status >= 400 and not resp.url.endswith(IGNORED) and resp.url not in tab.expected_errors:
            problems.append(f"HTTP {resp.status}: {resp.url}")

    tab.on("console", on_console)
    tab.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    def on_request_failed(req: Any) -> None:
        # A download, or a request cut short by the next navigation, ends as ERR_ABORTED: not an error.
        if req.failure != "net::ERR_ABORTED":
            problems.append(f"request failed ({req.failure}): {req.url}")

    tab.on("requestfailed", on_request_failed)
    tab.on("response", on_response)
    tab.expected_errors = set()  # URLs a test expects to fail (add to it before visiting them)
    tab.problems = problems
    try:
        yield tab
    finally:
        context.close()


def login(page: Any, server: LiveServer, who: str = "admin", password: str = PASSWORD) -> None:
    """Log in through the real form, as a user would."""
    email = USERS[who][0] if who in USERS else who
    page.goto(server.path("/connexion"))
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label("Mot de passe").fill(password)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_load_state()


def logout(page: Any) -> None:
    """Click the logout button in the header."""
    page.get_by_role("button", name="Se déconnecter").click()
    page.wait_for_load_state()
