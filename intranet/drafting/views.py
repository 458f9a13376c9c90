"""Views of the drafting blueprint."""

from __future__ import annotations

from intranet.drafting import bp  # noqa: F401
