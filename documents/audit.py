"""Writing the audit log: every sensitive action is recorded, and no password or token is ever written."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.orm import Session

from documents.models import AuditEvent, User

logger = logging.getLogger("intranet.audit")

# Keys whose values must never reach the log, even by mistake.
_SECRET_KEYS = ("password", "mot_de_passe", "token", "secret", "csrf")


def clean_text(value: Any, *, limit: int = 500) -> str:
    """Make user input safe for a one-line log record: no CR/LF, no control chars."""
    text = str(value)
    # Escaping rather than dropping keeps the evidence while making line forging impossible.
    text = text.replace("\\", "\\\\").replace("\r", "\\r").replace("\n", "\\n")
    text = "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" for ch in text)
    return text[:limit]


def _clean_details(details: dict[str, Any] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in (details or {}).items():
        if any(secret in key.lower() for secret in _SECRET_KEYS):
            out[key] = "***"
        elif isinstance(value, (int, float, bool)) or value is None:
            out[key] = value
        elif isinstance(value, (list, tuple)):
            out[key] = [clean_text(v, limit=200) for v in value][:50]
        else:
            out[key] = clean_text(value)
    return out


def record(
    session: Session,
    action: str,
    *,
    actor: User | None = None,
    actor_email: str = "",
    outcome: str = "ok",
    object_type: str = "",
    object_id: object = "",
    region_code: str | None = None,
    ip: str = "",
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add an audit event to ``session`` (committed with the caller's transaction)."""
    event = AuditEvent(
        actor_id=actor.id if actor is not None else None,
        actor_email=clean_text(actor.email if actor is not None else actor_email, limit=254),
        action=action,
        outcome=outcome,
        object_type=object_type,
        object_id=clean_text(object_id, limit=64),
        region_code=region_code,
        ip=clean_text(ip, limit=64),
        details=_clean_details(details),
    )
    session.add(event)
    logger.info(
        "%s %s by=%s object=%s:%s region=%s ip=%s",
        action,
        outcome,
        event.actor_email or "-",
        object_type or "-",
        event.object_id or "-",
        region_code or "-",
        event.ip or "-",
    )
    return event
