"""The organisations of the référentiel as one CSV file: export, and import with a dry run.

UTF-8, ``;`` separated, the admin form's columns; the ``cle`` column (the organisation's
slug) is the stable key that makes an import idempotent: a line with a known key updates
that organisation, a line without one creates it (its key is derived from its type, region
and name, so importing the same file twice creates nothing the second time). Every faulty
line is reported with its number; if any line is faulty nothing is changed.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from documents import audit
from documents.errors import ValidationError
from documents.models import Organisation, OrganisationKind, Region, User

__all__ = ["COLUMNS", "ImportReport", "LineChange", "export_csv", "import_csv", "shown"]

#: CSV header → model attribute, in the order of the admin form.
COLUMNS: dict[str, str] = {
    "cle": "slug",
    "nom": "name",
    "sigle": "short_name",
    "type": "kind",
    "region": "region_code",
    "adresse": "address",
    "representant": "representative",
    "qualite": "representative_title",
    "email": "email",
    "telephone": "phone",
}
LABELS: dict[str, str] = {
    "name": "nom", "short_name": "sigle", "kind": "type", "region_code": "région", "address": "adresse",
    "representative": "représentant", "representative_title": "qualité", "email": "e-mail", "phone": "téléphone",
}
_LIMITS = {"slug": 120, "name": 300, "short_name": 100, "address": 2000, "representative": 200,
           "representative_title": 200, "email": 254, "phone": 40}
MAX_BYTES = 2 * 1024 * 1024
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
_PHONE = re.compile(r"^[0-9+().\s-]*$")


@dataclass
class LineChange:
    """What one line does: create or update (with the fields it changes), or nothing."""

    line: int
    key: str
    name: str
    action: str  # "création", "modification", "inchangée"
    changes: dict[str, tuple[str, str]] = field(default_factory=dict)


@dataclass
class ImportReport:
    """The outcome of an import (or of a dry run)."""

    dry_run: bool
    lines: list[LineChange] = field(default_factory=list)
    errors: list[tuple[int, str]] = field(default_factory=list)

    @property
    def created(self) -> int:
        """Lines that create an organisation."""
        return sum(change.action == "création" for change in self.lines)

    @property
    def updated(self) -> int:
        """Lines that change an organisation."""
        return sum(change.action == "modification" for change in self.lines)

    @property
    def applied(self) -> bool:
        """True when the changes were written (not a dry run, no faulty line)."""
        return not self.dry_run and not self.errors

    def summary(self) -> str:
        """One French sentence saying what happened or would happen."""
        if self.errors:
            return (f"{len(self.errors)} ligne(s) en erreur : rien n'a été modifié. Corrigez le fichier "
                    "puis importez-le de nouveau.")
        counts = f"{self.created} création(s), {self.updated} modification(s)"
        if self.dry_run:
            return f"Simulation : {counts} prévue(s) ; rien n'a été modifié."
        return f"{counts} enregistrée(s)."


def shown(value: str) -> str:
    """A value as the reports show it: « value », or (vide)."""
    return f"« {value} »" if value else "(vide)"


def _slug(text: str) -> str:
    bare = "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch)).lower()
    return "-".join(re.sub(r"[^0-9a-z]+", " ", bare).split())[:120]


def _value(org: Organisation, attr: str) -> str:
    value = getattr(org, attr)
    return "" if value is None else str(value)


def export_csv(session: Session) -> str:
    """Every organisation as CSV text (UTF-8, ``;``), ready to be edited and imported back."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(COLUMNS)
    stmt = select(Organisation).order_by(Organisation.kind, Organisation.region_code, Organisation.name)
    for org in session.scalars(stmt):
        writer.writerow([_value(org, attr) for attr in COLUMNS.values()])
    return buffer.getvalue()


def _decode(data: bytes) -> str:
    if len(data) > MAX_BYTES:
        raise ValidationError("Le fichier est trop volumineux (2 Mo au plus).", errors={"file": "Fichier trop gros."})
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError(
            "Le fichier n'est pas en UTF-8 : dans le tableur, enregistrez-le en « CSV UTF-8 (délimité "
            "par des points-virgules) ».", errors={"file": "Encodage non UTF-8."}) from None


def _read(text: str) -> tuple[list[str], list[tuple[int, list[str]]]]:
    if not text.strip():
        raise ValidationError("Le fichier est vide.", errors={"file": "Fichier vide."})
    reader = csv.reader(io.StringIO(text), delimiter=";")
    header = [_slug(h).replace("-", "") for h in next(reader)]
    wanted = {key.replace("-", "") for key in COLUMNS}
    unknown = [h for h in header if h not in wanted]
    if unknown or "nom" not in header or "type" not in header:
        raise ValidationError(
            "En-tête invalide : les colonnes attendues sont « " + ";".join(COLUMNS) + " » (« nom » et « type » "
            "obligatoires)" + (f" ; inconnues : {', '.join(unknown)}" if unknown else "") + ".",
            errors={"file": "En-tête invalide."})
    return header, [(reader.line_num, row) for row in reader if any(cell.strip() for cell in row)]


def import_csv(session: Session, data: bytes, *, actor: User | None, dry_run: bool = False,
               ip: str = "") -> ImportReport:
    """Create or update organisations from CSV bytes; nothing is written on a dry run or if a line is faulty."""
    header, rows = _read(_decode(data))
    report = ImportReport(dry_run=dry_run)
    regions = set(session.scalars(select(Region.code)))
    kinds = {k.value for k in OrganisationKind}
    existing = {org.slug: org for org in session.scalars(select(Organisation))}
    seen: dict[str, int] = {}
    planned: list[tuple[LineChange, dict[str, str], Organisation | None]] = []
    for line, row in rows:
        if len(row) > len(header):
            report.errors.append((line, f"ligne {line} : {len(row)} cellules pour {len(header)} colonnes "
                                        "(un « ; » de trop ?)."))
            continue
        values = {COLUMNS[h]: cell.strip() for h, cell in zip(header, row)}
        values.setdefault("slug", "")
        problems = []
        if not values.get("name"):
            problems.append("le nom est obligatoire")
        if not values.get("kind"):
            problems.append("le type est obligatoire")
        elif values["kind"] not in kinds:
            problems.append(f"type « {values.get('kind', '')} » inconnu (attendu : {', '.join(sorted(kinds))})")
        if values.get("region_code") and values["region_code"] not in regions:
            problems.append(f"région « {values['region_code']} » inconnue (code INSEE attendu, ex. 76)")
        if values.get("email") and not _EMAIL.match(values["email"]):
            problems.append(f"adresse e-mail « {values['email']} » invalide")
        if values.get("phone") and not _PHONE.match(values["phone"]):
            problems.append(f"téléphone « {values['phone']} » invalide (chiffres, espaces, + . - ( ) seulement)")
        for attr, limit in _LIMITS.items():
            if len(values.get(attr, "")) > limit:
                problems.append(f"{LABELS.get(attr, 'clé')} trop long ({limit} caractères au plus)")
        key = values["slug"] or _slug(f"{values.get('kind', '')} {values.get('region_code', '')} "
                                      f"{values.get('name', '')}")
        if key in seen:
            problems.append(f"clé « {key} » déjà utilisée ligne {seen[key]}")
        seen[key] = line
        if problems:
            report.errors.append((line, f"ligne {line} : " + " ; ".join(problems) + "."))
            continue
        values["slug"] = key
        org = existing.get(key)
        if org is None:
            change = LineChange(line, key, values["name"], "création")
        else:
            diff = {attr: (_value(org, attr), values[attr]) for attr in values
                    if attr != "slug" and _value(org, attr) != values[attr]}
            change = LineChange(line, key, values["name"], "modification" if diff else "inchangée", diff)
        report.lines.append(change)
        planned.append((change, values, org))
    if dry_run or report.errors:
        return report
    for change, values, org in planned:
        if change.action == "inchangée":
            continue
        fields: dict[str, str | None] = {attr: value for attr, value in values.items() if attr != "slug"}
        fields["region_code"] = fields.get("region_code") or None
        if org is None:
            org = Organisation(slug=change.key, **{"short_name": "", "address": "", "representative": "",
                                                   "representative_title": "", "email": "", "phone": "", **fields})
            session.add(org)
            session.flush()
        else:
            for attr, value in fields.items():
                setattr(org, attr, value)
        audit.record(session, "organisation.import", actor=actor, object_type="organisation", object_id=org.id,
                     region_code=org.region_code, ip=ip,
                     details={"line": change.line, "action": change.action,
                              "changes": {a: list(v) for a, v in change.changes.items()}})
    session.flush()
    return report
