"""Form helpers shared by every blueprint."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from flask_wtf import FlaskForm
from wtforms import SelectChoice
from wtforms.i18n import get_translations

from documents.errors import ValidationError

#: WTForms' own French messages ("N'est pas un choix valide."…); Flask-Babel is not used.
_FRENCH = get_translations(["fr_FR", "fr"])


class FrenchForm(FlaskForm):
    """Base of every form: Flask-WTF (CSRF) with WTForms' built-in messages in French."""

    class Meta:
        def get_translations(self, form: Any) -> Any:
            """WTForms' bundled French catalogue."""
            return _FRENCH


def show_errors(form: Any, exc: ValidationError, fallback: str, fields: Mapping[str, str] | None = None) -> None:
    """Put a domain ``ValidationError`` on the form, each message beside its field.

    An error's key names the form field (through ``fields`` where the domain's name differs
    from the form's); a key naming no field of the form, or an error without details, goes
    on the ``fallback`` field.
    """
    fields = fields or {}
    for key, message in exc.errors.items():
        name = fields.get(key, key)
        getattr(form, name if hasattr(form, name) else fallback).errors = [message]
    if not exc.errors:
        getattr(form, fallback).errors = [exc.message]


def choices(pairs: Iterable[tuple[str, str]]) -> list[SelectChoice]:
    """(value, label) pairs as WTForms 3.3 ``SelectChoice`` objects (tuples are deprecated)."""
    return [SelectChoice(value, label) for value, label in pairs]
