"""API endpoints: templates."""

from __future__ import annotations

from intranet.api import bp  # noqa: F401
