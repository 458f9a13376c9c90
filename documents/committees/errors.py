"""The error a committee verb raises when the user can fix the cause."""

from __future__ import annotations

from documents.errors import DomainError


class CommitteeError(DomainError):
    """A committee operation was refused for a reason the user can fix."""

    status = 409
