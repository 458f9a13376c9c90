"""Views of the search blueprint."""

from __future__ import annotations

from intranet.search import bp  # noqa: F401
