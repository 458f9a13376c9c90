"""The password policy knows French passwords and AZERTY keyboard walks."""

from __future__ import annotations

from typing import Any

import pytest

from documents import accounts
from documents.errors import ValidationError

TOO_EASY = "Ce mot de passe est trop facile à deviner"


@pytest.mark.parametrize("password", [
    "motdepasse12", "azertyuiop12", "AZERTYUIOP12", "qsdfghjklm12", "wxcvbnwxcvbn", "Bienvenue2026!",
    "Marseille2026", "chouchou2026", "Vendredi1234",
])
def test_french_and_azerty_passwords_are_refused(password: str) -> None:
    # None of these is in the plain common-password list: the strength estimator catches them.
    assert password.lower() not in accounts._common_passwords()
    problems = accounts.password_problems(password)
    assert len(problems) == 1 and problems[0].startswith(TOO_EASY), problems
    assert "« azerty »" in problems[0]
    assert accounts.password_strength(password, []) < accounts.MIN_PASSWORD_SCORE


@pytest.mark.parametrize("password", [
    "Correct-cheval-batterie-agrafe", "Soleil-Marseille1", "Douze-carac.", "lampe verte sous la pluie",
])
def test_strong_passwords_pass(password: str) -> None:
    assert accounts.password_problems(password) == []
    assert accounts.password_strength(password, []) >= accounts.MIN_PASSWORD_SCORE


def test_the_users_own_name_weakens_the_password() -> None:
    password = "Castafiore-1978"
    assert accounts.password_problems(password) == []
    problems = accounts.password_problems(password, email="bianca@test.fr", name="Bianca Castafiore")
    assert problems and problems[0].startswith(TOO_EASY)


def test_passwords_longer_than_zxcvbn_accepts_are_scored() -> None:
    long_one = "une longue phrase de passe qui dépasse largement soixante-douze caractères, vraiment"
    assert len(long_one) > 72 and accounts.password_problems(long_one) == []


def test_create_user_refuses_a_french_common_password(db_session: Any) -> None:
    with pytest.raises(ValidationError) as refused:
        accounts.create_user(db_session, email="nouveau@test.fr", role="national", password="azertyuiop12")
    assert refused.value.message.startswith(TOO_EASY)
    assert refused.value.errors["password"].startswith(TOO_EASY)
