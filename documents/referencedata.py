"""Reference data: regions (2009 and 2016 maps), départements, organisations and the 215 quartiers of annex 2.

Pure data, no database: the CSV files shipped in ``documents/data/`` are read into frozen
dataclasses, and ``parse_annex2`` rebuilds ``quartiers.csv`` from the protocol text
(``scripts/parse_annex2.py``). Loading them into the database is done elsewhere, on top
of these functions.

Repairing broken accents
------------------------
The protocol text was extracted from a PDF whose fonts mapped some glyphs to the wrong
characters. ``repair_text`` undoes the mapping below. A rule is applied only where the
broken glyph cannot be a real character of French text, because several broken glyphs are
also real letters (``ô`` is both the broken apostrophe and the ô of "Côte", ``é`` both the
broken ellipsis and the é of "passé"):

=============  ===========  ==============================================================
broken glyph   repaired     applied when
=============  ===========  ==============================================================
``ô``          ``'``        elision: a word-initial ``l d n s j c m t qu jusqu lorsqu
                            puisqu quoiqu quelqu presqu aujourd`` then a vowel or ``h``
                            ("lôart", "DôIMAGES", "aujourdôhui"); "Côte", "Rhône",
                            "l'Aumône", "Drôme" are left alone
``®``          ``é``        next to a letter ("cin®ma", "®t®")
``£``          ``É``        before a letter ("lô£tat")
``¯``          ``è``        always (a lone macron is never French)
``¨``          ``à``        always (a lone diaeresis is never French)
``¹``          ``ô``        between two letters ("r¹le", "h¹pital")
``°``          ``ê``        before a lower-case letter ("int®r°t", "°tre"); "n°96" kept
``î``          ``œ``        before ``u`` ("îuvre", "cîur"); "Nîmes" kept
``ê``          ``À``        alone between spaces ("ê lôinitiative")
``ñ`` ``ç``    ``«``        alone between spaces
``ò``          ``»``        alone, after a space
``ï``          ``–``        alone between spaces ("A ï Proposer")
``é``          ``…``        after ``.`` or ``)``, in "etcé", or ending a word that also
                            holds ``®`` ("vid®oé)")
``¶``          ``•``        at the start of a line (list bullet)
=============  ===========  ==============================================================

Not repaired, because the text does not say what was there: a ``é`` standing for ``…``
after a plain word ("le paysé" could be "passé"), and the dropped ``ç`` ("conus" for
"conçus", "franais"). Annex 2 itself was extracted with correct accents: on it
``repair_text`` changes nothing, and the tests hold it to that.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, fields, replace
from enum import StrEnum
from functools import cache
from importlib.resources import files

from documents.errors import DomainError

__all__ = [
    "ANNEX2_REGION_NAMES",
    "Annex2ParseError",
    "ORGANISATION_KINDS",
    "OrganisationRow",
    "QuartierRow",
    "QuartierType",
    "ReferenceDataError",
    "RegionRow",
    "DepartementRow",
    "current_regions",
    "load_departements",
    "regions_of_2009",
    "dump_quartiers_csv",
    "load_organisations",
    "load_quartiers",
    "load_regions",
    "parse_annex2",
    "repair_text",
]


class ReferenceDataError(DomainError):
    """A shipped reference CSV is missing, malformed or inconsistent."""

    # The files ship with the code: if they are wrong, the fault is ours, not the user's.
    status = 500


class Annex2ParseError(ReferenceDataError):
    """The text given as annex 2 of the protocol could not be read as the list of quartiers."""

    status = 422


class QuartierType(StrEnum):
    """Type of a quartier, spelled as in annex 2."""

    ZUS = "ZUS"
    ART6 = "Art.6"


#: Values of ``OrganisationRow.kind`` (the same strings as the ``OrganisationKind`` model enum).
ORGANISATION_KINDS: frozenset[str] = frozenset(
    {"signataire", "coordination_nationale", "drac", "coordination_regionale"}
)

#: Region names exactly as printed in annex 2 (spelling of the source, typos included:
#: "Champagne Ardennes"). The parser needs them to tell where the region name ends and
#: the département begins, as both are free text separated by plain spaces.
ANNEX2_REGION_NAMES: dict[str, str] = {
    "11": "Ile de France",
    "21": "Champagne Ardennes",
    "22": "Picardie",
    "23": "Haute Normandie",
    "24": "Centre",
    "25": "Basse Normandie",
    "26": "Bourgogne",
    "31": "Nord Pas de Calais",
    "41": "Lorraine",
    "42": "Alsace",
    "43": "Franche Comté",
    "52": "Pays de la Loire",
    "53": "Bretagne",
    "54": "Poitou Charentes",
    "72": "Aquitaine",
    "73": "Midi Pyrénées",
    "82": "Rhône Alpes",
    "83": "Auvergne",
    "91": "Languedoc Roussillon",
    "93": "Provence Alpes Côte d'Azur",
    "94": "Corse",
    "971": "Guadeloupe",
    "972": "Martinique",
    "973": "Guyane",
    "974": "La Réunion",
}


@dataclass(frozen=True, slots=True)
class RegionRow:
    """A region of the 2009 or the 2016 map, with its INSEE code and its period of validity.

    A region that kept its code in 2016 (11, 24, 52, 53, 93, 94) is one row, named as today;
    ``former_name`` keeps the 2009 name when it changed ("Centre"). ``aliases`` are the other
    ways folders name it: provisional 2016 names, abbreviations (slug form).
    """

    code: str
    name: str
    slug: str
    valid_from: str = ""
    valid_until: str = ""
    successor_code: str | None = None
    former_name: str = ""
    aliases: tuple[str, ...] = ()

    @property
    def current(self) -> bool:
        """True for a region of today's map."""
        return not self.valid_until

    @property
    def in_2009_map(self) -> bool:
        """True for a region of the 2009 protocol (annex 2)."""
        return not self.valid_from

    @property
    def name_in_2009(self) -> str:
        """The name the region had in the 2009 protocol."""
        return self.former_name or self.name


@dataclass(frozen=True, slots=True)
class DepartementRow:
    """A département, with its region in the 2009 map and today."""

    code: str
    name: str
    region_2009: str | None
    region_code: str


@dataclass(frozen=True, slots=True)
class OrganisationRow:
    """An organisation of the protocol; empty text fields are ``""``, no region is ``None``."""

    slug: str
    name: str
    short_name: str
    kind: str
    region_code: str | None
    address: str
    representative: str
    representative_title: str
    email: str
    #: Last day of a historical organisation (a 2009 DRAC: "2015-12-31"), "" while it exists.
    valid_until: str = ""


@dataclass(frozen=True, slots=True)
class QuartierRow:
    """One quartier of annex 2; text fields keep the source wording, ``*`` marks included."""

    region_code: str
    region_name: str
    departement: str
    departement_codes: tuple[str, ...]
    communes: str
    code: str
    names: str
    type: QuartierType

    @property
    def commune_list(self) -> tuple[str, ...]:
        """Return the communes one by one (the source separates them with ``/``)."""
        return tuple(part.strip() for part in self.communes.split("/"))


# --------------------------------------------------------------------------- repair

_LETTER = r"A-Za-zÀ-ÖØ-öø-ÿŒœ"
# Characters that may follow an elided article: vowels, h, and broken glyphs of vowels.
_AFTER_ELISION = r"AEIOUYHaeiouyhÀÂÉÈÊËÎÏÔÛÜàâéèêëîïôûüœŒ®£¨¯¹°"
_ELIDING_WORDS = r"[cdjlmnstCDJLMNST]|[Qq]u|[Jj]usqu|[Ll]orsqu|[Pp]uisqu|[Qq]uoiqu|[Qq]uelqu|[Pp]resqu|[Aa]ujourd"

# Order matters: the apostrophe and the ellipsis are decided on the raw text, before
# ``¹`` turns into a real ``ô`` and ``®`` into a real ``é`` that the later rules must not touch.
_REPAIRS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(rf"(?<![{_LETTER}®¨¹¯£'])({_ELIDING_WORDS})ô(?=[{_AFTER_ELISION}])"), r"\1'"),
    (re.compile(r"(?<=[.)])é"), "…"),
    (re.compile(r"(?<![\w®])etcé"), "etc…"),
    (re.compile(rf"(?<=®)([{_LETTER}]*)é(?![{_LETTER}®])"), r"\1…"),
    (re.compile(rf"®(?=[{_LETTER}])|(?<=[{_LETTER}])®"), "é"),
    (re.compile(rf"£(?=[{_LETTER}])"), "É"),
    (re.compile("¯"), "è"),
    (re.compile("¨"), "à"),
    (re.compile(rf"(?<=[{_LETTER}])¹(?=[{_LETTER}])"), "ô"),
    (re.compile(r"°(?=[a-zà-ÿ])"), "ê"),
    (re.compile(r"î(?=u)"), "œ"),
    (re.compile(r"(?<!\S)ê(?=\s)"), "À"),
    (re.compile(r"(?<!\S)[ñç](?=\s)"), "«"),
    # After a space, or glued to an upper-case word ("DôIMAGESò"); "Niccolò" is left alone.
    (re.compile(r"(?<=[\sA-Z])ò(?!\w)"), "»"),
    (re.compile(r"(?<!\S)ï(?=\s)"), "–"),
    (re.compile(r"^([ \t]*)¶(?=\s)", re.MULTILINE), "\\1•"),
)


def repair_text(text: str) -> str:
    """Undo the broken-glyph mapping of the protocol's PDF extraction (see the module doc)."""
    for pattern, replacement in _REPAIRS:
        text = pattern.sub(replacement, text)
    return text


# --------------------------------------------------------------------------- annex 2

_ANNEX2_START = re.compile(r"^[ \t]*ANNEXE 2\b", re.MULTILINE)
_FIRST_RECORD = re.compile(r"^[ \t]*\d{2,3} \D", re.MULTILINE)
_DEPT_CODE = r"\((?:\d{2,3}|2[AB])\)"
# One record once its lines are joined: region code, free text (region, département,
# communes), 7-digit quartier code, names, type.
# Neither the middle nor the names may contain a type keyword: a record with a damaged
# code must fail here rather than swallow the next record.
_NO_TYPE = r"(?:(?! (?:ZUS|Art\.6)(?: |$)).)+?"
_RECORD = re.compile(
    rf"(?P<region_code>\d{{2,3}}) (?P<middle>{_NO_TYPE}) (?P<code>\d{{7}}) (?P<names>{_NO_TYPE}) "
    r"(?P<type>ZUS|Art\.6)(?= |$)"
)
# Département(s) then communes: "Essonne (91) /Hauts de Seine (92) Massy (91) /Antony (92)".
_DEPT_THEN_COMMUNES = re.compile(
    rf"(?P<departement>.+?{_DEPT_CODE}(?: ?/ ?.+?{_DEPT_CODE})*) (?P<communes>.+)"
)
_ANNOUNCED_TOTAL = re.compile(r"Liste des (\d+) Quartiers")
_ANNOUNCED_ZUS = re.compile(r"(\d+) Zones Urbaines Sensibles")
_ANNOUNCED_ART6 = re.compile(r"(\d+) quartiers de dérogation")


def _join_lines(lines: list[str]) -> str:
    """Join wrapped PDF lines: a line ending in a hyphen continues the same word."""
    joined = ""
    for line in lines:
        piece = " ".join(line.split())
        if not piece:
            continue
        if not joined:
            joined = piece
        elif joined.endswith("-"):
            # "Fontenay-" + "aux-Roses": the PDF wrapped inside a compound name.
            joined += piece
        else:
            joined += " " + piece
    return joined


def _announced(pattern: re.Pattern[str], header: str, what: str) -> int:
    match = pattern.search(header)
    if match is None:
        raise Annex2ParseError(
            f"L'en-tête de l'annexe 2 n'annonce pas {what} : vérifiez que le texte "
            "donné est bien celui du protocole de 2009."
        )
    return int(match.group(1))


def parse_annex2(text: str) -> list[QuartierRow]:
    """Read the quartiers of annex 2 from the protocol text (or from the annex alone)."""
    start = _ANNEX2_START.search(text)
    if start is None:
        raise Annex2ParseError(
            "Le texte ne contient pas de ligne « ANNEXE 2 » : donnez le texte complet du "
            "protocole, ou l'annexe 2 avec son titre."
        )
    annex = repair_text(text[start.start():])
    first = _FIRST_RECORD.search(annex)
    if first is None:
        raise Annex2ParseError(
            "Aucune ligne de quartier (code région, région, département…) n'a été trouvée "
            "après le titre « ANNEXE 2 »."
        )
    header, body = annex[: first.start()], annex[first.start():]
    stream = _join_lines(body.splitlines())

    rows: list[QuartierRow] = []
    position = 0
    while position < len(stream):
        match = _RECORD.match(stream, position)
        if match is None:
            raise Annex2ParseError(
                "Ligne de l'annexe 2 illisible près de « "
                f"{stream[position:position + 80]} » : chaque quartier doit donner code "
                "région, région, département (code), commune(s), code quartier à 7 "
                "chiffres, nom(s) et type (ZUS ou Art.6)."
            )
        rows.append(_record_to_row(match))
        position = match.end() + 1  # the single space that separates records

    _check_counts(rows, header)
    return rows


def _record_to_row(match: re.Match[str]) -> QuartierRow:
    region_code = match["region_code"]
    region_name = ANNEX2_REGION_NAMES.get(region_code)
    middle = match["middle"]
    if region_name is None or not middle.startswith(region_name + " "):
        raise Annex2ParseError(
            f"Quartier {match['code']} : la région « {region_code} {middle[:40]} » n'est pas "
            "une région connue de l'annexe 2 ; ajoutez-la à ANNEX2_REGION_NAMES si le texte "
            "source est correct."
        )
    split = _DEPT_THEN_COMMUNES.fullmatch(middle[len(region_name) + 1:])
    if split is None:
        raise Annex2ParseError(
            f"Quartier {match['code']} : impossible de séparer le département (avec son code "
            f"entre parenthèses) des communes dans « {middle} »."
        )
    departement = split["departement"]
    names = match["names"]
    # The final period closes the list of names in the source; it is not part of a name.
    if names.endswith("."):
        names = names[:-1]
    return QuartierRow(
        region_code=region_code,
        region_name=region_name,
        departement=departement,
        departement_codes=tuple(re.findall(r"\((\d{2,3}|2[AB])\)", departement)),
        communes=split["communes"],
        code=match["code"],
        names=names,
        type=QuartierType(match["type"]),
    )


def _check_counts(rows: list[QuartierRow], header: str) -> None:
    # The annex announces its own totals: a row lost or split by the parser shows up here.
    expected = {
        "total": _announced(_ANNOUNCED_TOTAL, header, "le nombre de quartiers"),
        QuartierType.ZUS: _announced(_ANNOUNCED_ZUS, header, "le nombre de ZUS"),
        QuartierType.ART6: _announced(_ANNOUNCED_ART6, header, "le nombre de quartiers Art.6"),
    }
    found = {
        "total": len(rows),
        QuartierType.ZUS: sum(row.type is QuartierType.ZUS for row in rows),
        QuartierType.ART6: sum(row.type is QuartierType.ART6 for row in rows),
    }
    if found != expected:
        raise Annex2ParseError(
            f"L'annexe 2 annonce {expected['total']} quartiers ({expected[QuartierType.ZUS]} "
            f"ZUS, {expected[QuartierType.ART6]} Art.6) mais {found['total']} ont été lus "
            f"({found[QuartierType.ZUS]} ZUS, {found[QuartierType.ART6]} Art.6) : le texte "
            "est incomplet ou une ligne est mal découpée."
        )
    codes = [row.code for row in rows]
    duplicates = sorted({code for code in codes if codes.count(code) > 1})
    if duplicates:
        raise Annex2ParseError(
            f"Codes de quartier en double dans l'annexe 2 : {', '.join(duplicates)}."
        )


QUARTIER_COLUMNS: tuple[str, ...] = tuple(field.name for field in fields(QuartierRow))


def dump_quartiers_csv(rows: list[QuartierRow]) -> str:
    """Serialise quartiers as the text of ``quartiers.csv`` (UTF-8, header row, ``\\n`` ends)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(QUARTIER_COLUMNS)
    for row in rows:
        writer.writerow(
            [
                row.region_code,
                row.region_name,
                row.departement,
                "/".join(row.departement_codes),
                row.communes,
                row.code,
                row.names,
                row.type.value,
            ]
        )
    return buffer.getvalue()


# --------------------------------------------------------------------------- loaders


def _read_csv(name: str, columns: tuple[str, ...]) -> list[dict[str, str]]:
    resource = files("documents") / "data" / name
    try:
        content = resource.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ReferenceDataError(
            f"Le fichier de référence documents/data/{name} est illisible ({exc}) : "
            "réinstallez l'application."
        ) from exc
    reader = csv.DictReader(io.StringIO(content))
    if tuple(reader.fieldnames or ()) != columns:
        raise ReferenceDataError(
            f"documents/data/{name} doit avoir les colonnes {', '.join(columns)} ; "
            f"trouvé : {', '.join(reader.fieldnames or ())}."
        )
    return list(reader)


REGION_COLUMNS = ("code", "name", "slug", "valid_from", "valid_until", "successor_code", "former_name", "aliases")


@cache
def _regions() -> tuple[RegionRow, ...]:
    rows = tuple(
        RegionRow(code=r["code"], name=r["name"], slug=r["slug"], valid_from=r["valid_from"],
                  valid_until=r["valid_until"], successor_code=r["successor_code"] or None,
                  former_name=r["former_name"], aliases=tuple(a for a in r["aliases"].split("|") if a))
        for r in _read_csv("regions.csv", REGION_COLUMNS)
    )
    _require_unique("regions.csv", "code", [row.code for row in rows])
    _require_unique("regions.csv", "slug", [row.slug for row in rows])
    current = {row.code for row in rows if row.current}
    for row in rows:
        # Every former region leads to exactly one current region, in one step.
        if row.current != (row.successor_code is None) or (row.successor_code and row.successor_code not in current):
            raise ReferenceDataError(
                f"regions.csv, région {row.code} : une région close doit avoir pour successeur une "
                "région actuelle, et une région actuelle n'en a pas."
            )
    return rows


@cache
def _departements() -> tuple[DepartementRow, ...]:
    codes = {region.code for region in _regions()}
    rows = []
    for raw in _read_csv("departements.csv", ("code", "name", "region_2009", "region_code")):
        row = DepartementRow(code=raw["code"], name=raw["name"], region_2009=raw["region_2009"] or None,
                             region_code=raw["region_code"])
        if row.region_code not in codes or (row.region_2009 is not None and row.region_2009 not in codes):
            raise ReferenceDataError(f"departements.csv, département {row.code} : région inconnue.")
        rows.append(row)
    _require_unique("departements.csv", "code", [row.code for row in rows])
    return tuple(rows)


@cache
def _organisations() -> tuple[OrganisationRow, ...]:
    columns = tuple(field.name for field in fields(OrganisationRow))
    region_codes = {region.code for region in _regions()}
    rows = []
    for raw in _read_csv("organisations.csv", columns):
        row = replace(OrganisationRow(**raw), region_code=raw["region_code"] or None)
        if row.kind not in ORGANISATION_KINDS:
            raise ReferenceDataError(
                f"organisations.csv, « {row.slug} » : type « {row.kind} » inconnu "
                f"(attendu : {', '.join(sorted(ORGANISATION_KINDS))})."
            )
        if row.region_code is not None and row.region_code not in region_codes:
            raise ReferenceDataError(
                f"organisations.csv, « {row.slug} » : la région {row.region_code} n'est pas "
                "dans regions.csv."
            )
        rows.append(row)
    _require_unique("organisations.csv", "slug", [row.slug for row in rows])
    return tuple(rows)


@cache
def _quartiers() -> tuple[QuartierRow, ...]:
    region_codes = {region.code for region in _regions()}
    rows = []
    for raw in _read_csv("quartiers.csv", QUARTIER_COLUMNS):
        if raw["region_code"] not in region_codes:
            raise ReferenceDataError(
                f"quartiers.csv, quartier {raw['code']} : la région {raw['region_code']} "
                "n'est pas dans regions.csv."
            )
        try:
            quartier_type = QuartierType(raw["type"])
        except ValueError:
            raise ReferenceDataError(
                f"quartiers.csv, quartier {raw['code']} : type « {raw['type']} » inconnu "
                "(attendu : ZUS ou Art.6)."
            ) from None
        rows.append(
            QuartierRow(
                region_code=raw["region_code"],
                region_name=raw["region_name"],
                departement=raw["departement"],
                departement_codes=tuple(raw["departement_codes"].split("/")),
                communes=raw["communes"],
                code=raw["code"],
                names=raw["names"],
                type=quartier_type,
            )
        )
    _require_unique("quartiers.csv", "code", [row.code for row in rows])
    return tuple(rows)


def _require_unique(file: str, column: str, values: list[str]) -> None:
    duplicates = sorted({value for value in values if values.count(value) > 1})
    if duplicates:
        raise ReferenceDataError(
            f"{file} : valeurs en double dans la colonne {column} : {', '.join(duplicates)}."
        )


def load_regions() -> list[RegionRow]:
    """Return every region, of the 2009 map and of today's, from ``documents/data/regions.csv``."""
    return list(_regions())


def regions_of_2009() -> list[RegionRow]:
    """Return the 26 regions of the 2009 protocol (annex 2)."""
    return [row for row in _regions() if row.in_2009_map]


def current_regions() -> list[RegionRow]:
    """Return the 18 regions of today's map (13 metropolitan, 5 overseas)."""
    return [row for row in _regions() if row.current]


def load_departements() -> list[DepartementRow]:
    """Return the départements with their 2009 and current region (``documents/data/departements.csv``)."""
    return list(_departements())


def load_organisations() -> list[OrganisationRow]:
    """Return the organisations of ``documents/data/organisations.csv``, checked."""
    return list(_organisations())


def load_quartiers() -> list[QuartierRow]:
    """Return the 215 quartiers of ``documents/data/quartiers.csv``, checked."""
    return list(_quartiers())
