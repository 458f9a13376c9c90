"""A document's history in plain French, page by page: « Marie Dupont a ajouté la version 3 ».

The audit log keeps technical details (hashes, field names, addresses); this module turns each
event into one sentence for everyone, and leaves the raw details to the page for administrators.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from documents.models import AuditEvent, Document, LinkType, User

#: Events shown per page of the history.
PER_PAGE = 20
#: Actions that change a document (the others are reads: consultations, downloads, denials).
CHANGE_ACTIONS: tuple[str, ...] = (
    "document.upload", "document.version", "document.metadata", "document.link", "document.unlink",
    "document.trash", "document.restore", "document.unlock", "document.lock", "document.deadline",
    "document.amounts",
    "document.signature_send", "document.signature", "document.signature_return", "document.signature_reminder",
)
#: French names of the metadata fields, as the edit form labels them.
FIELD_NAMES = {
    "title": "titre", "doc_type": "type", "region_code": "région", "year": "année", "status": "statut",
    "signature_date": "date de signature", "effective_date": "date d'effet", "end_date": "échéance",
    "duration_months": "durée", "tacit_renewal": "tacite reconduction", "notice_months": "préavis",
    "keywords": "mots-clés", "notes": "notes", "parties": "parties", "party_ids": "parties",
    "quartiers": "quartiers", "quartier_codes": "quartiers",
}


@dataclass(frozen=True)
class HistoryEntry:
    """One event as a sentence without its date (the page adds « le … » in Paris time)."""

    at: dt.datetime
    sentence: str
    action: str
    outcome: str
    details: dict[str, Any]
    actor_email: str = ""
    ip: str = ""


@dataclass(frozen=True)
class HistoryPage:
    """One page of a document's history, newest first."""

    entries: list[HistoryEntry]
    page: int
    pages: int
    total: int


def _link_label(value: object) -> str:
    try:
        return LinkType(str(value)).label
    except ValueError:
        return "concerne"


def _changed(details: dict[str, Any]) -> str:
    names = [FIELD_NAMES.get(str(name), str(name)) for name in details.get("changed") or []]
    unique = list(dict.fromkeys(names))
    return f" ({', '.join(unique)})" if unique else ""


_PHRASES: dict[str, Callable[[dict[str, Any]], str]] = {
    "document.upload": lambda d: "a déposé le document" + (f" (fichier « {d['filename']} »)" if d.get("filename") else ""),
    "document.version": lambda d: f"a ajouté la version {d.get('version', '')}".rstrip(),
    "document.metadata": lambda d: "a modifié les informations" + _changed(d),
    "document.link": lambda d: f"a indiqué que ce document {_link_label(d.get('type'))} le document n° {d.get('target', '?')}",
    "document.unlink": lambda d: f"a retiré le lien vers le document n° {d.get('target', '?')}",
    "document.trash": lambda d: "a mis le document à la corbeille",
    "document.restore": lambda d: "a restauré le document depuis la corbeille",
    "document.unlock": lambda d: "a déverrouillé le document" + (f" : « {d['reason']} »" if d.get("reason") else ""),
    "document.lock": lambda d: "a reverrouillé le document",
    "document.deadline": lambda d: "a enregistré la suite donnée à une échéance",
    "document.amounts": lambda d: "a modifié les montants de l'accord",
    "document.signature_send": lambda d: "a envoyé le document pour signature" + (f" à « {d['to']} »" if d.get("to") else ""),
    "document.signature": lambda d: _signature(d),
    "document.signature_return": lambda d: "a renvoyé le document en brouillon"
    + (f" : « {d['reason']} »" if d.get("reason") else ""),
    "document.signature_reminder": lambda d: f"a relancé la signature (en attente depuis {d.get('days', '?')} jours)",
    "document.view": lambda d: "a consulté le document",
    "document.download": lambda d: "a téléchargé " + (f"la version {d['version']}" if d.get("version") else "le fichier"),
    "document.preview": lambda d: "a ouvert l'aperçu PDF",
    "access.denied": lambda d: "s'est vu refuser l'accès",
}


_SIGNED_BY = {"coordination": "de la coordination", "drac": "de la DRAC", "signataire": "d'un signataire"}


def _signature(details: dict[str, Any]) -> str:
    signatory = details.get("signatory")
    by = f"de « {signatory} »" if signatory else _SIGNED_BY.get(str(details.get("step")), "")
    text = f"a enregistré la signature {by}".rstrip()
    if details.get("final"):
        text += f" : document signé (version {details.get('version', '?')}, scan signé) et verrouillé"
    return text


def sentence(who: str, action: str, details: dict[str, Any], outcome: str = "ok") -> str:
    """« Marie Dupont a ajouté la version 3 » (without the date)."""
    phrase = _PHRASES.get(action)
    text = f"{who} {phrase(details)}" if phrase else f"{who} : {action}"
    return text if outcome == "ok" else f"{text} (refusé)"


def document_history_page(session: Session, document: Document, *, include_access: bool = False,
                          page: int = 1, per_page: int = PER_PAGE) -> HistoryPage:
    """One page of the document's events, newest first; reads (views, downloads, denials) only if asked."""
    where = [AuditEvent.object_type == "document", AuditEvent.object_id == str(document.id)]
    if not include_access:
        where.append(AuditEvent.action.in_(CHANGE_ACTIONS))
    total = int(session.scalar(select(func.count()).select_from(AuditEvent).where(*where)) or 0)
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    rows = session.execute(
        select(AuditEvent, User.name, User.email).outerjoin(User, User.id == AuditEvent.actor_id).where(*where)
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).offset((page - 1) * per_page).limit(per_page)).all()
    entries = []
    for event, name, email in rows:
        who = name or email or event.actor_email or "Le système"
        details = event.details if isinstance(event.details, dict) else {}
        entries.append(HistoryEntry(at=event.at, sentence=sentence(who, event.action, details, event.outcome),
                                    action=event.action, outcome=event.outcome, details=details,
                                    actor_email=email or event.actor_email or "", ip=event.ip or ""))
    return HistoryPage(entries=entries, page=page, pages=pages, total=total)
