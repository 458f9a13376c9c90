"""The one error of the template engine, with the faulty tag when known."""

from __future__ import annotations

from documents.errors import DomainError

# --------------------------------------------------------------------------- errors


class TemplateError(DomainError):
    """A Word model cannot be used or filled; ``tag`` is the faulty tag, when known."""

    status = 422

    def __init__(self, message: str, *, tag: str | None = None, status: int | None = None) -> None:
        super().__init__(message, status=status)
        self.tag = tag

    def to_dict(self) -> dict[str, str | None]:
        """Plain form, for JSON answers and for crossing the worker boundary."""
        return {"message": self.message, "tag": self.tag}
