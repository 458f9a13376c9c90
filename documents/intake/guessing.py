"""Guesses from a file's path: document type, region, year, and a title from the file name."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath

from sqlalchemy import select
from sqlalchemy.orm import Session

from documents import filetypes, regions
from documents.frenchtext import fold_words as fold
from documents.frenchtext import slugify
from documents.models import DocType, Region

YEAR_MIN, YEAR_MAX = 1990, 2100

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

