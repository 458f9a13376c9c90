"""Views of the committees blueprint."""

from __future__ import annotations

from intranet.committees import bp  # noqa: F401
