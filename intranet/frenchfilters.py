"""Jinja filters for French text: elision, file sizes, Paris time to the second."""

from __future__ import annotations

import datetime as dt

from babel.dates import format_datetime, get_timezone
from flask import Flask

from documents.frenchtext import elide, elided, format_size

PARIS = get_timezone("Europe/Paris")


def datetime_fr_seconds(value: dt.datetime | None) -> str:
    """'24 nov. 2026, 16:05:33' in Paris time (the audit log needs the seconds)."""
    if value is None:
        return ""
    aware = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    return format_datetime(aware, "d MMM y, HH:mm:ss", tzinfo=PARIS, locale="fr_FR")


def datetime_iso_utc(value: dt.datetime | None) -> str:
    """ISO 8601 in UTC, for a ``<time datetime>`` attribute."""
    if value is None:
        return ""
    aware = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    return aware.astimezone(dt.UTC).isoformat(timespec="seconds")


def register(app: Flask) -> None:
    """Install the filters: ``"que"|elide(name)``, ``"que"|elided(name)``, ``size|taille``, …"""
    app.jinja_env.filters["elide"] = elide
    app.jinja_env.filters["elided"] = elided
    app.jinja_env.filters["taille"] = format_size
    # Jinja's own filter writes « 186.7 kB »: anything still using it gets French instead.
    app.jinja_env.filters["filesizeformat"] = lambda value, binary=False: format_size(value)
    app.jinja_env.filters["datetime_fr_seconds"] = datetime_fr_seconds
    app.jinja_env.filters["datetime_iso_utc"] = datetime_iso_utc
