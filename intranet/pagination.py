"""Pagination of SQLAlchemy selects, shared by HTML pages and the API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import abort
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

MAX_PER_PAGE = 200
MAX_PAGE = 100_000


@dataclass
class Page:
    """One page of results with its position in the whole list."""

    items: list[Any]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        """Number of pages (at least 1)."""
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self) -> bool:
        """True if there is a page before."""
        return self.page > 1

    @property
    def has_next(self) -> bool:
        """True if there is a page after."""
        return self.page < self.pages


def parse_page_args(args: Any, *, default_per_page: int = 50, strict: bool = False) -> tuple[int, int]:
    """Read ``page`` and ``per_page`` from query args; clamped on pages, refused (400) when ``strict``."""
    if strict:
        return (bounded_int_arg(args, "page", 1, 1, MAX_PAGE),
                bounded_int_arg(args, "per_page", default_per_page, 1, MAX_PER_PAGE))
    try:
        page = max(1, int(args.get("page", 1)))
    except (TypeError, ValueError):
        page = 1
    try:
        per_page = int(args.get("per_page", default_per_page))
    except (TypeError, ValueError):
        per_page = default_per_page
    per_page = min(max(per_page, 1), MAX_PER_PAGE)
    return min(page, MAX_PAGE), per_page


def bounded_int_arg(args: Any, name: str, default: int, low: int, high: int) -> int:
    """Query argument ``name`` as an integer in [low, high]; absent → ``default``; otherwise 400 in French."""
    raw = args.get(name)
    if raw is None:
        return default
    text = str(raw).strip()
    value = int(text) if text.isascii() and text.isdigit() and len(text) <= 10 else None
    if value is None or not low <= value <= high:
        abort(400, f"Paramètre « {name} » invalide : nombre entier entre {low} et {high} attendu.")
    return value


def paginate(session: Session, stmt: Select[Any], page: int, per_page: int) -> Page:
    """Run ``stmt`` for one page, with the total count."""
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    items = list(session.scalars(stmt.limit(per_page).offset((page - 1) * per_page)).unique())
    return Page(items=items, total=total, page=page, per_page=per_page)
