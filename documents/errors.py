"""Base error of the domain: every error carries a French message fit for a user."""

from __future__ import annotations


class DomainError(Exception):
    """An error whose ``message`` can be shown as is to a French-speaking user."""

    #: HTTP status the web layer should answer with when this error escapes a view.
    status: int = 400

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status


class NotFound(DomainError):
    """The object does not exist, or the user may not know that it exists."""

    status = 404


class PermissionDenied(DomainError):
    """The user may see the object but not do this to it."""

    status = 403


class ValidationError(DomainError):
    """Input was refused; ``errors`` maps field names to French messages."""

    status = 422

    def __init__(self, message: str, *, errors: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or {}
