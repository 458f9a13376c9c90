"""Errors of the drafting verbs."""

from __future__ import annotations

from documents.errors import DomainError, ValidationError
from documents.generation import TemplateError

# --------------------------------------------------------------------------- errors


class DraftingError(DomainError):
    """A drafting request cannot be carried out (French message)."""

    status = 422


class TemplateRejected(ValidationError):
    """An uploaded model failed its checks; ``problems`` lists every faulty tag."""

    def __init__(self, message: str, *, problems: list[TemplateError]) -> None:
        super().__init__(message, errors={"file": message})
        self.problems = problems


class ValuesInvalid(ValidationError):
    """Typed values refused; ``errors`` maps each input name to a French message."""
