"""Views of the library blueprint."""

from __future__ import annotations

from intranet.library import bp  # noqa: F401
