"""Form helpers shared by every blueprint."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask_wtf import FlaskForm
from wtforms import SelectChoice
from wtforms.i18n import get_translations

#: WTForms' own French messages ("N'est pas un choix valide."…); Flask-Babel is not used.
_FRENCH = get_translations(["fr_FR", "fr"])


class FrenchForm(FlaskForm):
    """Base of every form: Flask-WTF (CSRF) with WTForms' built-in messages in French."""

    class Meta:
        def get_translations(self, form: Any) -> Any:
            """WTForms' bundled French catalogue."""
            return _FRENCH


def choices(pairs: Iterable[tuple[str, str]]) -> list[SelectChoice]:
    """(value, label) pairs as WTForms 3.3 ``SelectChoice`` objects (tuples are deprecated)."""
    return [SelectChoice(value, label) for value, label in pairs]
