"""Reminder delays of the signature track, from the settings.

``INTRANET_SIGNATURE_REMINDER_CONVENTION``, ``…_AVENANT``, ``…_CONTRAT_OBJECTIFS`` and
``…_PROTOCOLE`` (days; defaults 15, 15, 15 and 30), or the app setting
``SIGNATURE_REMINDER_DAYS`` (a mapping type → days) which wins over the environment.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from flask import current_app

from documents.signatures import DEFAULT_REMINDER_DAYS, reminder_delays

ENV_PREFIX = "INTRANET_SIGNATURE_REMINDER_"


def reminder_days(config: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None) -> dict[str, int]:
    """Days before a reminder, by type; a bad value is a ``ValidationError`` naming it."""
    from documents.errors import ValidationError

    config = current_app.config if config is None else config
    environ = os.environ if environ is None else environ
    overrides: dict[str, int] = {}
    for doc_type in DEFAULT_REMINDER_DAYS:
        raw = environ.get(ENV_PREFIX + doc_type.upper())
        if raw:
            if not raw.strip().isdigit():
                raise ValidationError(f"{ENV_PREFIX + doc_type.upper()} : nombre de jours attendu, pas « {raw} ».")
            overrides[doc_type] = int(raw.strip())
    overrides.update(config.get("SIGNATURE_REMINDER_DAYS") or {})
    return reminder_delays(overrides)
