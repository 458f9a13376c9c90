"""Committees, meetings and minutes: one blueprint, its views split by job.

``helpers`` loads committees and meetings within the user's scope; ``committee`` (committees
and members), ``meetings``, ``attendance``, ``attachments``, ``decisions`` (decisions and
actions), ``lists`` (cross-meeting lists and CSV), ``minutes``, ``compliance`` (and the home
panel), ``feeds`` (calendar and Atom) and ``outbox`` (administrators' mail) add their routes.
"""

from __future__ import annotations

# Importing each view module adds its routes to the blueprint.
from intranet.committees import (  # noqa: F401
    attachments,
    attendance,
    committee,
    compliance,
    decisions,
    feeds,
    lists,
    meetings,
    minutes,
    outbox,
)
from intranet.committees.blueprint import bp

__all__ = ["bp"]
