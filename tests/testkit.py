"""Helpers shared by the tests: standard accounts, CSRF, login."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

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
    import re

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
