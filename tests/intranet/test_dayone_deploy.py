"""``check-deploy`` refuses guessable secret keys and says why."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
from click.testing import CliRunner

from intranet.cli import main
from intranet.config import deploy_problems, load_config, secret_key_weakness


def _env(tmp_path: Path, secret: str) -> dict[str, str]:
    return {"INTRANET_ENV": "production", "SECRET_KEY": secret, "INTRANET_DATA_DIR": str(tmp_path / "prod"),
            "FLASK_DEBUG": "0", "DATABASE_URL": f"sqlite:///{tmp_path / 'prod.sqlite3'}"}


def test_check_deploy_refuses_a_repeated_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("SECRET_KEY", "FLASK_DEBUG", "SESSION_COOKIE_SECURE", "DATABASE_URL"):
        monkeypatch.delenv(key, raising=False)
    result = CliRunner().invoke(main, ["check-deploy"], env=_env(tmp_path, "changemechangemechangemechangeme"))
    assert result.exit_code == 1, result.output
    assert "SECRET_KEY répète le motif « changeme » : elle est trop prévisible" in result.output
    assert "secrets.token_urlsafe(48)" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(("secret", "reason"), [
    ("changemechangemechangemechangeme", "répète le motif « changeme »"),
    ("abcabcabcabcabcabcabcabcabcabcab" + "c", "répète le motif « abc »"),
    ("Azerty-Azerty-Azerty-Azerty-Azerty-12", "n'utilise que 9 caractères différents"),
    ("abcdefghijklmnopqrstuvwxyz0123456789", "est trop prévisible (mots, suites ou répétitions"),
    ("motdepasse-motdepasse-secret-intranet-2026", "est trop prévisible (mots, suites ou répétitions"),
])
def test_guessable_keys_are_refused_with_the_reason(tmp_path: Path, secret: str, reason: str) -> None:
    assert len(secret) >= 32
    problems = deploy_problems(load_config(_env(tmp_path, secret)))
    assert any(p.startswith(f"SECRET_KEY {reason}") for p in problems), problems


def test_random_keys_pass(tmp_path: Path) -> None:
    for secret in [secrets.token_urlsafe(48) for _ in range(20)] + [secrets.token_hex(16) for _ in range(20)]:
        assert secret_key_weakness(secret) is None, secret
    assert deploy_problems(load_config(_env(tmp_path, secrets.token_urlsafe(48)))) == []
