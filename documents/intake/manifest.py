"""The CSV manifest of an import: its columns, and its cells read as document metadata."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import unicodedata
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from documents.errors import DomainError, ValidationError
from documents.frenchtext import fold_words as fold
from documents.intake.guessing import RegionKeys
from documents.models import DocStatus, DocType, Organisation

#: Manifest columns (folded) -> field; "path" names the file, relative to the imported folder.
MANIFEST_COLUMNS = {
    "path": "path", "chemin": "path", "fichier": "path",
    "titre": "title", "type": "doc_type", "region": "region_code", "annee": "year", "statut": "status",
    "date_signature": "signature_date", "date_effet": "effective_date", "echeance": "end_date",
    "duree_mois": "duration_months", "tacite_reconduction": "tacit_renewal", "preavis_mois": "notice_months",
    "mots_cles": "keywords", "notes": "notes", "parties": "party_ids", "quartiers": "quartier_codes",
}
#: Field -> the column name shown in messages.
COLUMN_OF = {
    "title": "titre", "doc_type": "type", "region_code": "region", "year": "annee", "status": "statut",
    "signature_date": "date_signature", "effective_date": "date_effet", "end_date": "echeance",
    "duration_months": "duree_mois", "tacit_renewal": "tacite_reconduction", "notice_months": "preavis_mois",
    "keywords": "mots_cles", "notes": "notes", "party_ids": "parties", "quartier_codes": "quartiers",
}


class ManifestError(DomainError):
    """The manifest cannot be used as a whole (unreadable, no path column, unknown columns)."""

    status = 422


def _column_key(header: str) -> str:
    return fold(header).replace(" ", "_")


def normalise_relpath(value: str) -> str:
    """A manifest path as a key: forward slashes, NFC, no leading './'."""
    text = unicodedata.normalize("NFC", value.strip()).replace("\\", "/")
    while text.startswith("./"):
        text = text[2:]
    return str(PurePosixPath(text)) if text else ""


def read_manifest(manifest: Path, folder: Path) -> dict[str, dict[str, str]]:
    """Rows of a CSV manifest (comma or semicolon, UTF-8 or Windows-1252) keyed by relative path."""
    raw = manifest.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Excel on Windows saves "CSV" in Windows-1252.
        text = raw.decode("cp1252", errors="replace")
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    headers = reader.fieldnames or []
    mapping: dict[str, str] = {}
    unknown: list[str] = []
    for header in headers:
        key = _column_key(header or "")
        if key in MANIFEST_COLUMNS:
            mapping[header] = MANIFEST_COLUMNS[key]
        elif header:
            unknown.append(header)
    if "path" not in mapping.values():
        raise ManifestError(f"Le manifeste {manifest.name} n'a pas de colonne « path » (chemin du fichier).")
    if unknown:
        known = ", ".join(sorted({k for k in MANIFEST_COLUMNS if k not in ("chemin", "fichier")}))
        raise ManifestError(
            f"Colonnes inconnues dans le manifeste : {', '.join(unknown)}. Colonnes possibles : {known}."
        )
    rows: dict[str, dict[str, str]] = {}
    folder = folder.resolve()
    for line_no, record in enumerate(reader, start=2):
        row = {mapping[h]: (v or "").strip() for h, v in record.items() if h in mapping and isinstance(v, str)}
        path_value = row.pop("path", "")
        if not path_value:
            continue
        candidate = Path(path_value)
        if candidate.is_absolute():
            try:
                path_value = str(candidate.resolve().relative_to(folder))
            except ValueError:
                raise ManifestError(
                    f"Ligne {line_no} du manifeste : {path_value} n'est pas dans le dossier importé."
                ) from None
        rows[normalise_relpath(path_value)] = {k: v for k, v in row.items() if v != ""}
    return rows


_TYPE_WORDS = {
    "protocole": DocType.PROTOCOLE, "convention": DocType.CONVENTION, "avenant": DocType.AVENANT,
    "contrat d objectifs": DocType.CONTRAT_OBJECTIFS, "contrat objectifs": DocType.CONTRAT_OBJECTIFS,
    "compte rendu": DocType.COMPTE_RENDU, "cr": DocType.COMPTE_RENDU, "pv": DocType.COMPTE_RENDU,
    "proces verbal": DocType.COMPTE_RENDU, "compte rendu proces verbal": DocType.COMPTE_RENDU,
    "bilan": DocType.BILAN, "cahier des charges": DocType.CAHIER_DES_CHARGES, "modele": DocType.MODELE,
    "autre": DocType.AUTRE,
}
_STATUS_WORDS = {
    "brouillon": DocStatus.BROUILLON, "en signature": DocStatus.EN_SIGNATURE, "signe": DocStatus.SIGNE,
    "archive": DocStatus.ARCHIVE,
}
_TRUE = {"oui", "o", "vrai", "true", "1", "x", "yes", "y"}
_FALSE = {"non", "n", "faux", "false", "0", "no"}


def parse_doc_type(value: str) -> str | None:
    """A type given as its code or its French name ("Contrat d'objectifs", "PV"); None if unknown."""
    folded = fold(value)
    found = _TYPE_WORDS.get(folded) or _TYPE_WORDS.get(folded.removesuffix("s"))
    if found is None:
        try:
            found = DocType(value.strip())
        except ValueError:
            return None
    return found.value


def parse_status(value: str) -> str | None:
    """A status given as its code or its French name ("signé"); None if unknown."""
    found = _STATUS_WORDS.get(fold(value))
    if found is None:
        try:
            found = DocStatus(value.strip())
        except ValueError:
            return None
    return found.value


def parse_date(value: str) -> dt.date | None:
    """ISO (2010-03-15) or French (15/03/2010) date; None if unreadable."""
    value = value.strip()
    for fmt in ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y"):
        try:
            return dt.datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    return None


def parse_bool(value: str) -> bool | None:
    """oui/non, vrai/faux, 1/0; None if unreadable."""
    folded = fold(value)
    if folded in _TRUE:
        return True
    if folded in _FALSE:
        return False
    return None


def _split(value: str) -> list[str]:
    return [part for part in re.split(r"[;,|\s]+", value) if part]


def parse_fields(session: Session, row: Mapping[str, str], keys: RegionKeys) -> dict[str, Any]:
    """Manifest cells (by field name) as Metadata values; ValidationError naming each bad column."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name, raw in row.items():
        column = COLUMN_OF.get(name, name)
        if name == "title" or name == "notes":
            values[name] = raw
        elif name == "doc_type":
            parsed = parse_doc_type(raw)
            if parsed is None:
                errors[column] = f"type inconnu « {raw} »"
            values[name] = parsed
        elif name == "status":
            parsed = parse_status(raw)
            if parsed is None:
                errors[column] = f"statut inconnu « {raw} » (brouillon, en signature, signé, archivé)"
            values[name] = parsed
        elif name == "region_code":
            known, values[name] = keys.resolve_scope(raw)
            if not known:
                errors[column] = f"région inconnue « {raw} »"
        elif name in ("year", "duration_months", "notice_months"):
            try:
                values[name] = int(raw)
            except ValueError:
                errors[column] = f"nombre attendu, pas « {raw} »"
        elif name in ("signature_date", "effective_date", "end_date"):
            date = parse_date(raw)
            if date is None:
                errors[column] = f"date illisible « {raw} » (AAAA-MM-JJ ou JJ/MM/AAAA)"
            values[name] = date
        elif name == "tacit_renewal":
            flag = parse_bool(raw)
            if flag is None:
                errors[column] = f"oui ou non attendu, pas « {raw} »"
            values[name] = bool(flag)
        elif name == "keywords":
            values[name] = [k.strip() for k in re.split(r"[;,]", raw) if k.strip()]
        elif name == "party_ids":
            slugs = _split(raw)
            found = dict(session.execute(
                select(Organisation.slug, Organisation.id).where(Organisation.slug.in_(slugs))).all())
            missing = [s for s in slugs if s not in found]
            if missing:
                errors[column] = "organisation inconnue : " + ", ".join(missing[:5])
            values[name] = [found[s] for s in slugs if s in found]
        elif name == "quartier_codes":
            values[name] = _split(raw)
    if errors:
        detail = " ; ".join(f"{column} : {message}" for column, message in errors.items())
        raise ValidationError(f"Manifeste invalide pour ce fichier ({detail}).", errors=errors)
    return values

