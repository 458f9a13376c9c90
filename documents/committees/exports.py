"""Decisions and actions as CSV files a French spreadsheet opens as they are."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

from documents.committees.dates import local
from documents.committees.decisions import decision_sentence
from documents.models import ActionItem, Decision, DecisionKind


def _csv_cell(value: Any) -> str:
    text = "" if value is None else str(value)
    # A cell starting with = + - @ would run as a formula in a spreadsheet (CSV injection).
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        text = "'" + text
    return text


def _csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_csv_cell(v) for v in row])
    # The BOM makes Excel read the file as UTF-8 (accents) with ";" as the French separator.
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def decisions_csv(decisions: Iterable[Decision]) -> bytes:
    """Decisions as a CSV for a spreadsheet (UTF-8 with BOM, ";" separated)."""
    header = ["Date", "Comité", "Région", "Réunion", "Type", "Décision", "Projet", "Porteur", "Commune",
              "Quartier", "Actions concernées"]
    return _csv(header, ([
        local(d.meeting.starts_at).strftime("%d/%m/%Y"), d.meeting.committee.name, d.meeting.region_label,
        d.meeting.title, d.kind_label, decision_sentence(d) if d.kind == DecisionKind.VALIDATION_PROJET.value
        else d.text, d.project_name, d.porteur, d.commune,
        f"{d.quartier.code} {d.quartier.names}" if d.quartier else "", d.actions_concerned,
    ] for d in decisions))


def actions_csv(actions: Iterable[ActionItem]) -> bytes:
    """Actions as a CSV for a spreadsheet (UTF-8 with BOM, ";" separated)."""
    header = ["Échéance", "Action", "Responsable", "Statut", "Comité", "Région", "Réunion du"]
    return _csv(header, ([
        a.due_date.strftime("%d/%m/%Y") if a.due_date else "", a.title, a.owner, a.status_label,
        a.meeting.committee.name, a.meeting.region_label, local(a.meeting.starts_at).strftime("%d/%m/%Y"),
    ] for a in actions))
