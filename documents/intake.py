"""Folder import: bring a shared folder of Word and PDF files into the archive.

The pipeline per file is: ignore noise → check the format → hash → skip if already archived
→ metadata (manifest, then command-line defaults, then guesses from the path and the file's
own properties) → ``archive_document`` (store, parse, record, index), committed on its own.

Resuming after an interruption relies on the SHA-256 deduplication alone, not on a state
file: the database already says which bytes are archived, a state file could disagree with
it (restored backup, purged document) and rehashing a folder costs far less than parsing
it. A file that was stored but not committed when the process died is an orphan that the
rerun adopts (``put_file`` finds the bytes already there) and that ``intranet check`` reports
meanwhile.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import os
import re
import unicodedata
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session

from documents import audit, filetypes, permissions, regions
from documents.archive import DuplicateDocument, Metadata, archive_document, find_by_sha
from documents.errors import DomainError, PermissionDenied, ValidationError
from documents.frenchtext import fold_words as fold
from documents.frenchtext import slugify
from documents.models import DocStatus, DocType, Organisation, Region, TextStatus, User
from documents.storage import Storage, sha256_file

logger = logging.getLogger(__name__)

Outcome = Literal["imported", "duplicate", "rejected", "ignored"]

#: Files every shared folder collects and nobody means to archive.
_NOISE_NAMES = frozenset({"thumbs.db", "desktop.ini", ".ds_store", "icon\r"})
#: Largest docProps/core.xml or meta.xml read for a title or a date.
_MAX_PROPERTIES_BYTES = 256 * 1024
YEAR_MIN, YEAR_MAX = 1990, 2100

# ------------------------------------------------------------------ guessing

#: Most specific first: "Avenant n°2 à la convention" is an avenant, "Bilan de la convention" a bilan.
_TYPE_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    (DocType.AVENANT.value, re.compile(r"\bavenants?\b")),
    (DocType.CONTRAT_OBJECTIFS.value, re.compile(r"\bcontrats? (?:d )?objectifs?\b")),
    (DocType.CAHIER_DES_CHARGES.value, re.compile(r"\bcahiers? des charges\b")),
    (DocType.COMPTE_RENDU.value,
     re.compile(r"\bcomptes? rendus?\b|\bcr\b|\bpv\b|\bproces verba(?:l|ux)\b|\bcompte rendu\b")),
    (DocType.BILAN.value, re.compile(r"\bbilans?\b")),
    (DocType.PROTOCOLE.value, re.compile(r"\bprotocoles?\b")),
    (DocType.MODELE.value, re.compile(r"\bmodeles?\b")),
    (DocType.CONVENTION.value, re.compile(r"\bconventions?\b")),
]

#: Short names staff give region folders, mapped to the slug of the region they mean.
_REGION_ALIASES = {"idf": "ile-de-france", "paca": "provence-alpes-cote-d-azur", "npdc": "nord-pas-de-calais"}
#: "Centre" is also a common noun ("centre social", "Centre national du cinéma"): it names the
#: region only when the next word is not one of these.
_NOT_REGION_AFTER = {
    "centre": {"national", "nationale", "social", "sociaux", "socio", "culturel", "culturelle", "de", "des",
               "du", "d", "ville", "hospitalier", "penitentiaire", "aere", "loisirs", "commercial", "medico",
               "regional", "departemental", "communal", "image", "images", "cinema"},
}

_YEAR = re.compile(r"(?<!\d)(\d{4})(?!\d)")


def path_components(relative: PurePosixPath, *, root_name: str = "") -> list[str]:
    """The places a guess may come from, most specific first: file stem, folders up, the import folder."""
    parts = [relative.stem, *reversed(relative.parts[:-1])]
    if root_name:
        parts.append(root_name)
    return [p for p in parts if p]


def guess_type(components: Sequence[str]) -> str | None:
    """Document type named in the file name, else in the nearest folder name that names one."""
    for component in components:
        folded = fold(component)
        for doc_type, pattern in _TYPE_PATTERNS:
            if pattern.search(folded):
                return doc_type
    return None


@dataclass(frozen=True)
class RegionKeys:
    """Every way a path may name each region: code, slug, slugified name, alias."""

    codes: dict[str, str]
    words: dict[str, str]

    @classmethod
    def load(cls, session: Session) -> RegionKeys:
        """Keys of the regions in the database, with the shipped aliases (IDF, LRMP, 2016 provisional names…)."""
        # Today's regions first: where two codes share a name (971 and 01 « Guadeloupe »), the
        # 2009 code wins, as the archive's; ``guess_region`` moves it to the year's code.
        stmt = select(Region).order_by(Region.valid_from.is_(None), Region.code)
        keys = cls.of((r.code, r.name, r.slug) for r in session.scalars(stmt))
        for alias, code in regions.aliases():
            if code in keys.codes.values():
                keys.words.setdefault(alias, code)
        return keys

    @classmethod
    def of(cls, regions: Iterable[tuple[str, str, str]]) -> RegionKeys:
        """Keys of (code, name, slug) triples."""
        codes: dict[str, str] = {}
        words: dict[str, str] = {}
        by_slug: dict[str, str] = {}
        for code, name, slug in regions:
            codes[code.lower()] = code
            words[slugify(name)] = code
            words[slugify(slug)] = code
            by_slug[slugify(slug)] = code
        for alias, slug in _REGION_ALIASES.items():
            if slug in by_slug:
                words[alias] = by_slug[slug]
        return cls(codes=codes, words=words)

    def resolve(self, value: str) -> str | None:
        """The region code a user typed as a code, slug or name (None when unknown)."""
        value = value.strip()
        if value.lower() in self.codes:
            return self.codes[value.lower()]
        return self.words.get(slugify(value))

    def resolve_scope(self, value: str) -> tuple[bool, str | None]:
        """(known, code) of a region a user typed, where "national" means no region: (True, None)."""
        if fold(value) == "national":
            return True, None
        code = self.resolve(value)
        return code is not None, code

    def find(self, component: str) -> set[str]:
        """Codes of the regions this one path component names."""
        slug = slugify(component)
        if not slug:
            return set()
        found: set[str] = set()
        if slug in self.codes:
            found.add(self.codes[slug])
        match = re.fullmatch(r"(?:r|region)-?(\d{2,3})", slug)
        if match and match.group(1) in self.codes:
            found.add(self.codes[match.group(1)])
        words = slug.split("-")
        spans: list[tuple[int, int, str]] = []
        for key, code in self.words.items():
            key_words = key.split("-")
            size = len(key_words)
            for start in range(len(words) - size + 1):
                if words[start:start + size] != key_words:
                    continue
                following = words[start + size] if start + size < len(words) else ""
                if following in _NOT_REGION_AFTER.get(key, set()):
                    continue
                spans.append((start, start + size, code))
                break
        # The longest name wins over the names inside it: « Bourgogne-Franche-Comté » (27) is
        # not Bourgogne (26) and Franche-Comté (43) when the 2016 region is known.
        for start, end, code in spans:
            if not any(s <= start and end <= e and (e - s) > (end - start) for s, e, _ in spans):
                found.add(code)
        return found


def guess_region(components: Sequence[str], keys: RegionKeys, year: int | None = None) -> str | None:
    """Region named by the file name or the nearest folder that names exactly one region (or a département)."""
    for component in components:
        found = keys.find(component)
        if len(found) == 1:
            return regions.for_year(next(iter(found)), year)
        # Two regions in one name (« Bourgogne-Franche-Comté » without the 2016 map): no guess from it.
        if not found:
            code = regions.departement_region(component, year)
            if code is not None and code in keys.codes.values():
                return code
    return None


def guess_year(components: Sequence[str]) -> int | None:
    """First 4-digit year between 1990 and 2100 in the file name, else in the nearest folder name."""
    for component in components:
        for match in _YEAR.finditer(component):
            year = int(match.group(1))
            if YEAR_MIN <= year <= YEAR_MAX:
                return year
    return None


def title_from_name(filename: str) -> str:
    """A readable title from a file name: no extension, underscores as spaces."""
    stem = filetypes.safe_filename(filename)
    stem = stem.rsplit(".", 1)[0] if "." in stem else stem
    return " ".join(stem.replace("_", " ").split()) or "Document sans titre"


# ------------------------------------------------------------------ file properties


@dataclass(frozen=True)
class FileProperties:
    """What a file says about itself: its title property and the year it was made."""

    title: str | None = None
    year: int | None = None


#: python-docx stamps this creation date on every file made from its default template:
#: it says nothing about the document.
_TEMPLATE_TIMESTAMPS = frozenset({"2013-12-23T23:15:00Z"})
_PLACEHOLDER_TITLES = frozenset({"", "document", "word document", "document microsoft word", "sans titre",
                                 "untitled", "titre"})
_DC = "http://purl.org/dc/elements/1.1/"
_DCTERMS = "http://purl.org/dc/terms/"
_ODF_META = "urn:oasis:names:tc:opendocument:xmlns:meta:1.0"


def _year_of(value: str | None) -> int | None:
    if not value or value.strip() in _TEMPLATE_TIMESTAMPS:
        return None
    match = re.match(r"\s*(?:D:)?(\d{4})", value)
    if match and YEAR_MIN <= int(match.group(1)) <= YEAR_MAX:
        return int(match.group(1))
    return None


def _clean_title(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    title = " ".join(value.split())
    return None if fold(title) in _PLACEHOLDER_TITLES else title[:500]


def _zip_xml(path: Path, member: str) -> etree._Element | None:
    with zipfile.ZipFile(path) as archive:
        try:
            info = archive.getinfo(member)
        except KeyError:
            return None
        if info.file_size > _MAX_PROPERTIES_BYTES:
            return None
        blob = archive.read(info)
    if b"<!DOCTYPE" in blob.upper():
        return None
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    return etree.fromstring(blob, parser)


def _first_text(root: etree._Element, *tags: str) -> str | None:
    for tag in tags:
        element = root.find(f".//{tag}")
        if element is not None and element.text and element.text.strip():
            return element.text.strip()
    return None


def file_properties(path: Path, kind: str) -> FileProperties:
    """Title and year from a file's own properties (docx core.xml, odt meta.xml, PDF info); never raises.

    Call it only on a file that passed ``filetypes.check_upload``: the zip checks there are what
    make opening the archive here safe.
    """
    try:
        if kind == "docx":
            root = _zip_xml(path, "docProps/core.xml")
            if root is None:
                return FileProperties()
            title = _clean_title(_first_text(root, f"{{{_DC}}}title"))
            year = _year_of(_first_text(root, f"{{{_DCTERMS}}}created")) or \
                _year_of(_first_text(root, f"{{{_DCTERMS}}}modified"))
            return FileProperties(title=title, year=year)
        if kind == "odt":
            root = _zip_xml(path, "meta.xml")
            if root is None:
                return FileProperties()
            title = _clean_title(_first_text(root, f"{{{_DC}}}title"))
            year = _year_of(_first_text(root, f"{{{_ODF_META}}}creation-date")) or \
                _year_of(_first_text(root, f"{{{_DC}}}date"))
            return FileProperties(title=title, year=year)
        if kind == "pdf":
            from pypdf import PdfReader

            # Only the trailer's /Info dictionary is read: no page or stream is decoded.
            with path.open("rb") as fh:
                reader = PdfReader(fh, strict=False)
                if reader.is_encrypted:
                    return FileProperties()
                info = reader.metadata or {}
                title = _clean_title(info.get("/Title"))
                year = _year_of(str(info.get("/CreationDate") or "")) or _year_of(str(info.get("/ModDate") or ""))
            return FileProperties(title=title, year=year)
    except Exception as exc:  # noqa: BLE001 - properties are a hint; a damaged file still gets imported
        logger.info("could not read the properties of %s: %r", path.name, exc)
    return FileProperties()


# ------------------------------------------------------------------ manifest

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


# ------------------------------------------------------------------ report


@dataclass
class FileOutcome:
    """What happened to one file of the folder."""

    path: str
    outcome: Outcome
    reason: str = ""
    document_id: int | None = None
    title: str | None = None
    doc_type: str | None = None
    region_code: str | None = None
    year: int | None = None
    #: Where each metadata value came from: manifeste, option, nom, dossier, propriétés, compte, défaut.
    sources: dict[str, str] = field(default_factory=dict)
    #: Scanned pages queued for text recognition (OCR) by this import.
    ocr_queued: bool = False


@dataclass
class ImportReport:
    """The summary of a folder import."""

    folder: str
    outcomes: list[FileOutcome] = field(default_factory=list)

    def of(self, outcome: Outcome) -> list[FileOutcome]:
        """Outcomes of one kind, in folder order."""
        return [o for o in self.outcomes if o.outcome == outcome]

    @property
    def counts(self) -> dict[str, int]:
        """How many files ended in each outcome."""
        return {kind: len(self.of(kind)) for kind in ("imported", "duplicate", "rejected", "ignored")}

    @property
    def ocr_queued(self) -> int:
        """Imported files whose scanned pages wait for the OCR worker."""
        return sum(1 for o in self.outcomes if o.ocr_queued)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        def clean(o: FileOutcome) -> dict[str, Any]:
            return {k: v for k, v in asdict(o).items() if k != "outcome" and v not in (None, "", {}, False)}

        return {
            "folder": self.folder,
            "counts": self.counts,
            "ocr_queued": self.ocr_queued,
            "imported": [clean(o) for o in self.of("imported")],
            "duplicates": [clean(o) for o in self.of("duplicate")],
            "rejected": [clean(o) for o in self.of("rejected")],
            "ignored": [clean(o) for o in self.of("ignored")],
        }


# ------------------------------------------------------------------ walking


def collect_files(folder: Path) -> list[Path]:
    """Every file under ``folder``, sorted; symlinked folders are not followed (no loops, no escape)."""
    found: list[Path] = []
    for root, dirs, files in os.walk(folder, followlinks=False):
        dirs.sort()
        found.extend(Path(root) / name for name in sorted(files))
    return found


def _noise_reason(path: Path) -> str | None:
    name = path.name
    if name.startswith("~$"):
        return "fichier de verrouillage de Word ignoré"
    if name.startswith(".") or name.lower() in _NOISE_NAMES:
        return "fichier caché ou système ignoré"
    return None


# ------------------------------------------------------------------ import


def default_actor(session: Session) -> User | None:
    """The first active administrator: the acting user when none is named."""
    from documents.models import Role

    return session.scalar(
        select(User).where(User.role == Role.ADMIN.value, User.active.is_(True)).order_by(User.id).limit(1)
    )


def import_folder(
    session: Session,
    storage: Storage,
    folder: Path,
    *,
    actor: User | None,
    manifest: Path | None = None,
    region: str | None = None,
    doc_type: str | None = None,
    files: Sequence[Path] | None = None,
    progress: Callable[[FileOutcome], None] | None = None,
    checkpoint: Callable[[], None] | None = None,
) -> ImportReport:
    """Import every file under ``folder``, each in its own savepoint: a refused file undoes only itself.

    ``region`` and ``doc_type`` are defaults for files the manifest is silent about; they win
    over guesses. ``files`` (from ``collect_files``) lets the caller size a progress bar.
    ``checkpoint`` is called after each file: the CLI passes its commit, so that a rerun resumes
    where a killed import stopped; without it everything stays in the caller's unit of work.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ValidationError(f"Le dossier {folder} n'existe pas ou n'est pas un dossier.")
    if not permissions.can_write_anything(actor):
        raise PermissionDenied("Ce compte ne peut pas ajouter de documents (lecture seule ou désactivé).")
    keys = RegionKeys.load(session)
    default_region: str | None = None
    region_given = region is not None and region.strip() != ""
    if region_given:
        assert region is not None
        if fold(region) == "national":
            default_region = None
        else:
            default_region = keys.resolve(region)
            if default_region is None:
                raise ValidationError(f"Région inconnue : « {region} » (code, nom ou slug attendu).")
        if not permissions.can_write_region(actor, default_region):
            raise PermissionDenied("Vous ne pouvez pas importer de documents dans cette région.")
    default_type: str | None = None
    if doc_type:
        default_type = parse_doc_type(doc_type)
        if default_type is None:
            raise ValidationError(f"Type de document inconnu : « {doc_type} ».")
    rows = read_manifest(manifest, folder) if manifest is not None else {}
    skip = {manifest.resolve()} if manifest is not None else set()
    files = collect_files(folder) if files is None else list(files)
    report = ImportReport(folder=str(folder))
    seen_relpaths: set[str] = set()
    for path in files:
        if path.resolve() in skip:
            continue
        relative = PurePosixPath(path.relative_to(folder).as_posix())
        key = normalise_relpath(str(relative))
        seen_relpaths.add(key)
        outcome = _import_one(
            session, storage, path, relative, actor=actor, row=rows.get(key), keys=keys, root_name=folder.name,
            region_given=region_given, default_region=default_region, default_type=default_type,
        )
        report.outcomes.append(outcome)
        if checkpoint is not None:
            checkpoint()
        if progress is not None:
            progress(outcome)
    for key in sorted(set(rows) - seen_relpaths):
        report.outcomes.append(FileOutcome(path=key, outcome="rejected",
                                           reason="Listé dans le manifeste mais absent du dossier."))
    audit.record(session, "import.folder", actor=actor, object_type="folder", object_id=folder.name,
                 details={"folder": str(folder), **report.counts})
    session.flush()
    return report


def _import_one(
    session: Session,
    storage: Storage,
    path: Path,
    relative: PurePosixPath,
    *,
    actor: User | None,
    row: Mapping[str, str] | None,
    keys: RegionKeys,
    root_name: str,
    region_given: bool,
    default_region: str | None,
    default_type: str | None,
) -> FileOutcome:
    rel = str(relative)
    noise = _noise_reason(path)
    if noise is not None:
        return FileOutcome(path=rel, outcome="ignored", reason=noise)
    if path.is_symlink():
        return FileOutcome(path=rel, outcome="rejected",
                           reason="Lien symbolique ignoré : importez le fichier lui-même.")
    try:
        check = filetypes.check_upload(path, path.name)
        existing = find_by_sha(session, sha256_file(path))
        if existing is not None:
            return FileOutcome(path=rel, outcome="duplicate", document_id=existing.document_id,
                               reason="Fichier déjà archivé.")
        # A savepoint per file: a refused file undoes its own rows only, never its neighbours'.
        with session.begin_nested():
            meta, sources = _metadata(session, path, relative, check.kind, actor=actor, row=row or {}, keys=keys,
                                      root_name=root_name, region_given=region_given,
                                      default_region=default_region, default_type=default_type)
            doc = archive_document(
                session, storage, actor=actor, path=path, filename=path.name, meta=meta,
                comment="Import d'un dossier partagé", origin={"source": "import", "path": rel},
            )
    except DuplicateDocument as exc:
        return FileOutcome(path=rel, outcome="duplicate", document_id=exc.document_id, reason=exc.message)
    except ValidationError as exc:
        reason = exc.message
        if exc.errors and "(" not in reason:
            reason += " " + " ; ".join(f"{COLUMN_OF.get(k, k)} : {v}" for k, v in exc.errors.items())
        return FileOutcome(path=rel, outcome="rejected", reason=reason)
    except DomainError as exc:
        return FileOutcome(path=rel, outcome="rejected", reason=exc.message)
    except OSError as exc:
        return FileOutcome(path=rel, outcome="rejected", reason=f"Fichier illisible ({exc.strerror or exc}).")
    except Exception as exc:  # noqa: BLE001 - one bad file must not stop a long import
        logger.exception("import of %s failed", rel)
        return FileOutcome(path=rel, outcome="rejected",
                           reason=f"Erreur inattendue ({type(exc).__name__}) : fichier non importé.")
    outcome = FileOutcome(path=rel, outcome="imported", document_id=doc.id, title=doc.title,
                          doc_type=doc.doc_type, region_code=doc.region_code, year=doc.year, sources=sources,
                          ocr_queued=doc.current is not None and doc.current.text_status == TextStatus.PENDING.value)
    # Keep the session small on folders of thousands of files.
    session.expunge(doc)
    return outcome


def _metadata(
    session: Session,
    path: Path,
    relative: PurePosixPath,
    kind: str,
    *,
    actor: User | None,
    row: Mapping[str, str],
    keys: RegionKeys,
    root_name: str,
    region_given: bool,
    default_region: str | None,
    default_type: str | None,
) -> tuple[Metadata, dict[str, str]]:
    values = parse_fields(session, row, keys)
    sources = {name: "manifeste" for name in values}
    components = path_components(relative, root_name=root_name)
    folders = components[1:]
    props: FileProperties | None = None

    def properties() -> FileProperties:
        nonlocal props
        if props is None:
            props = file_properties(path, kind)
        return props

    if "doc_type" not in values:
        if default_type is not None:
            values["doc_type"], sources["doc_type"] = default_type, "option"
        else:
            guessed = guess_type(components[:1]) or guess_type(folders)
            where = "nom" if guess_type(components[:1]) else "dossier"
            values["doc_type"], sources["doc_type"] = (guessed, where) if guessed else (DocType.AUTRE.value, "défaut")
    if "region_code" not in values:
        if region_given:
            values["region_code"], sources["region_code"] = default_region, "option"
        else:
            guessed = guess_region(components, keys, values.get("year") or guess_year(components))
            if guessed is not None:
                values["region_code"] = guessed
                sources["region_code"] = "nom" if len(keys.find(components[0])) == 1 else "dossier"
            elif actor is not None and actor.region_code and not permissions.can_write_region(actor, None):
                # A regional account files into its own region what names no region.
                values["region_code"], sources["region_code"] = actor.region_code, "compte"
            else:
                values["region_code"], sources["region_code"] = None, "défaut"
    if "year" not in values:
        year = guess_year(components)
        if year is not None:
            values["year"] = year
            sources["year"] = "nom" if guess_year(components[:1]) else "dossier"
        elif properties().year is not None:
            values["year"], sources["year"] = properties().year, "propriétés"
    if "title" not in values:
        from documents.titles import first_heading  # titles builds on this module

        heading = None if properties().title else first_heading(path, kind)
        if properties().title:
            values["title"], sources["title"] = properties().title, "propriétés"
        elif heading:
            values["title"], sources["title"] = heading, "titre du document"
        else:
            values["title"], sources["title"] = title_from_name(path.name), "nom"
    return Metadata(**values), sources
