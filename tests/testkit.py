"""Helpers shared by the tests: standard accounts, CSRF, login, child processes."""

from __future__ import annotations

import html
import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

PASSWORD = "Correct-cheval-batterie-agrafe"

#: Standard accounts present in every test database: key -> (email, role, region).
USERS = {
    "admin": ("admin@test.fr", "admin", None),
    "national": ("nationale@test.fr", "national", None),
    "idf": ("idf@test.fr", "regional", "11"),
    "paca": ("paca@test.fr", "regional", "93"),
    "lecteur": ("lecteur@test.fr", "lecteur", None),
    "lecteur_idf": ("lecteur.idf@test.fr", "lecteur", "11"),
}

#: Features append functions (session) -> None that add data every test database should hold.
POPULATE_HOOKS: list[Any] = []


def csrf_token(client: Any, path: str = "/connexion") -> str:
    """Fetch a page and read its CSRF token."""

    html = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or \
        re.search(r'value="([^"]+)"[^>]*name="csrf_token"', html)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


@dataclass
class AuthActions:
    """Log in and out through the real forms."""

    client: Any

    def login(self, who: str = "admin", password: str = PASSWORD) -> Any:
        email = USERS[who][0] if who in USERS else who
        token = csrf_token(self.client, "/connexion")
        return self.client.post("/connexion", data={"email": email, "password": password,
                                                    "csrf_token": token})

    def logout(self) -> Any:
        token = csrf_token(self.client, "/")
        return self.client.post("/deconnexion", data={"csrf_token": token})

    def token(self, path: str = "/") -> str:
        return csrf_token(self.client, path)


def user(session: Any, who: str) -> Any:
    """The standard account ``who`` (see USERS)."""
    from sqlalchemy import select

    from documents.models import User

    return session.scalar(select(User).where(User.email == USERS[who][0]))


def bearer(session: Any, who: str, name: str = "tests") -> dict[str, str]:
    """Headers authenticating as ``who`` with a new API token (committed: the request opens its own session)."""
    from documents import accounts

    _token, plaintext = accounts.create_token(session, user(session, who), name)
    session.commit()
    return {"Authorization": f"Bearer {plaintext}"}


def session_cookie(client: Any, app: Any) -> str | None:
    """The value of the session cookie held by ``client`` (None when it has none)."""
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    return None if cookie is None else cookie.value


def replay_client(app: Any, cookie_value: str | None) -> Any:
    """A second client (another browser) that presents a copied session cookie."""
    other = app.test_client()
    assert cookie_value, "nothing to copy: the first client has no session cookie"
    other.set_cookie(app.config["SESSION_COOKIE_NAME"], cookie_value)
    return other


def login_client(app: Any, who: str = "admin", password: str = PASSWORD) -> Any:
    """A new client logged in as ``who`` through the real login form."""
    client = app.test_client()
    response = AuthActions(client).login(who, password)
    assert response.status_code == 302, f"login of {who} failed with {response.status_code}"
    return client


def is_logged_in(client: Any) -> bool:
    """True if the home page answers instead of redirecting to the login form."""
    return client.get("/").status_code == 200


@contextmanager
def empty_database(backend: str, tmp_path: Any) -> Iterator[str]:
    """A database with no tables at all (for migrations and first-run tests), on ``backend``."""
    import os
    import uuid

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from documents.db import normalise_url

    if backend == "sqlite":
        path = tmp_path / f"vide-{uuid.uuid4().hex[:6]}.sqlite3"
        yield f"sqlite:///{path}"
        return
    admin_url = normalise_url(os.environ["TEST_DATABASE_URL"])
    name = f"intranet_vide_{uuid.uuid4().hex[:10]}"

    def run(sql: str) -> None:
        engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text(sql))
        engine.dispose()

    run(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def make_app(database_url: str, data_dir: Any, **overrides: Any) -> Any:
    """The test configuration of the app on any database (e.g. an empty one), plus ``overrides``."""
    from intranet import create_app

    return create_app({
        "TESTING": True,
        "SECRET_KEY": "test-secret-key-" + "x" * 32,
        "DATA_DIR": str(data_dir),
        "DATABASE_URL": database_url,
        "STORAGE_DIR": str(data_dir / "files"),
        "INDEX_DIR": str(data_dir / "index"),
        "MAIL_OUTBOX_DIR": str(data_dir / "mail"),
        # The suite runs two workers beside Chromium and LibreOffice: a search page may be starved of CPU
        # for a second. The bound itself is tested on the verbs (tests/documents/test_search.py).
        "SEARCH_TIME_LIMIT": 10.0,
        **overrides,
    })


def with_committees(session: Any) -> Any:
    """The session's database with the national and regional committees of the reference data."""
    from documents.committees.committee import ensure_committees

    ensure_committees(session)
    session.commit()
    return session


def committee(session: Any, slug: str) -> Any:
    """The committee of that slug."""
    from sqlalchemy import select

    from documents.models import Committee

    return session.scalar(select(Committee).where(Committee.slug == slug))


#: Mark for database tests where the backend plays no part (headers, forms, pure checks):
#: they run on SQLite only, to keep the PostgreSQL run short.
sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def docx_text(data: bytes) -> str:
    """Text of a .docx: paragraphs, then table cells (to check generated drafts)."""
    import io

    import docx

    document = docx.Document(io.BytesIO(data))
    chunks = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            for cell in row.cells:
                chunks.extend(p.text for p in cell.paragraphs)
    return "\n".join(chunks)


def template_docx(*paragraphs: str) -> bytes:
    """A minimal .docx whose paragraphs are ``paragraphs`` (Jinja tags included as typed)."""
    import io

    import docx

    document = docx.Document()
    for text in paragraphs:
        document.add_paragraph(text)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


#: The four lines of means of a DRAC–coordination convention, as a user types them
#: (spaces, comma decimals); total 24 999,50 €.
AMOUNTS = {
    "montant_mission_coordination": "12 500",
    "montant_projets_coordination": "8 000,50",
    "montant_formation": "3000",
    "montant_sensibilisation": "1 499,50",
}


def file_builtin_models(app: Any, session: Any) -> dict[str, int]:
    """The built-in Word models filed (as ``make run`` does) with a complete référentiel; slug -> template id."""
    from sqlalchemy import select

    from documents import drafting
    from documents.models import DraftingTemplate
    from intranet.extensions import storage

    with app.app_context():
        drafting.load_builtin_models(session, storage())
    fill_organisations(session)
    return {row.slug: row.document_id for row in session.scalars(select(DraftingTemplate))}


def fill_organisations(session: Any) -> None:
    """Give every organisation an address and a representative, as admins do before drafting.

    The shipped référentiel leaves them empty rather than inventing them.
    """
    from sqlalchemy import select

    from documents.models import Organisation

    for org in session.scalars(select(Organisation)):
        org.address = org.address or f"{org.id} rue de la Paix, 75002 Paris"
        org.representative = org.representative or f"Madame Représentante {org.id}"
        org.representative_title = org.representative_title or "Directrice"
    session.commit()


def deliver_mail(session: Any, folder: Any) -> list[Any]:
    """Act as the edge, then as the mail worker: commit, send what the outbox holds to ``folder``, list it."""
    from sqlalchemy.orm import sessionmaker

    from documents import mailqueue
    from documents.mail import OutboxMailer, list_outbox

    session.commit()
    mailqueue.deliver_due(sessionmaker(bind=session.get_bind()), OutboxMailer(folder), base_delay=0)
    return list_outbox(folder)


# ------------------------------------------------------------------ processes

#: The project folder: background processes start there, as ``make run`` starts them.
ROOT = Path(__file__).resolve().parents[1]
#: Databases the live-process tests run on.
LIVE_BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])


def intranet_argv(*args: str) -> list[str]:
    """The command line of ``intranet ARGS…`` in this virtual environment."""
    script = Path(sys.executable).with_name("intranet")
    return [str(script) if script.exists() else sys.executable, *([] if script.exists() else ["-m", "intranet"]),
            *args]


@contextmanager
def make_run_env(backend: str, tmp_path: Path) -> Iterator[dict[str, str]]:
    """The environment of ``make run`` on a fresh data folder and an empty database of ``backend``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INTRANET_", "DATABASE_URL", "MAIL_", "SMTP_"))}
    env["INTRANET_DATA_DIR"] = str(tmp_path / "instance")
    if backend == "sqlite":
        env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'instance' / 'intranet.sqlite3'}"
        yield env
        return
    with empty_database(backend, tmp_path) as url:
        env["DATABASE_URL"] = url
        yield env



def children_of(pid: int) -> set[int]:
    """Live (not zombie) child processes of ``pid``, read from /proc."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.add(int(stat.parent.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def form_fields(page: str) -> dict[str, str]:
    """Every named input/textarea/select of a page with its current value, as a browser would post it."""
    data: dict[str, str] = {}
    for match in re.finditer(r"<input([^>]*)>", page):
        attrs = match.group(1)
        name = re.search(r'name="([^"]+)"', attrs)
        if not name or 'type="checkbox"' in attrs or 'type="file"' in attrs:
            continue
        value = re.search(r'value="([^"]*)"', attrs)
        data[name.group(1)] = html.unescape(value.group(1)) if value else ""
    for match in re.finditer(r'<textarea[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', page, re.S):
        data[match.group(1)] = html.unescape(match.group(2))
    for match in re.finditer(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', page, re.S):
        options = [(re.search(r'value="([^"]*)"', o).group(1), " selected" in o)
                   for o in re.findall(r"<option[^>]*>", match.group(2))]
        chosen = [value for value, selected in options if selected] or [value for value, _ in options[:1]]
        data[match.group(1)] = chosen[0] if chosen else ""
    return data
