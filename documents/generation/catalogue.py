"""The field catalogue (``data/fields.json``): label, type and rules of each field name."""

from __future__ import annotations

import dataclasses
import functools
import json
from dataclasses import dataclass
from typing import Any

from documents.generation.limits import CATALOGUE_PATH

# --------------------------------------------------------------------------- field catalogue

#: Field types of the catalogue. "booléen" is read from oui/non; "organisation" is a
#: dict of sub-fields (nom, adresse, representant, qualite); "liste" is a list of rows.
FIELD_TYPES = ("texte", "date", "montant", "entier", "booléen", "organisation", "région", "liste")


@dataclass(frozen=True)
class FieldSpec:
    """What a template field is: label, type, whether required, sub-fields of rows."""

    name: str
    label: str
    type: str = "texte"
    required: bool = False
    help: str = ""
    #: Sub-fields of an "organisation" or the columns of a "liste" row (empty: list of str).
    subfields: tuple[FieldSpec, ...] = ()
    #: Example value, used as a form placeholder and by ``sample_values``.
    example: Any = None
    #: Value proposed in a fresh form (e.g. the objectives A–E of the protocol).
    default: Any = None
    minimum: int | None = None
    maximum: int | None = None
    #: For a computed montant: the fields it adds up ("annees[].montant" sums a column).
    sum_of: tuple[str, ...] = ()

    @property
    def computed(self) -> bool:
        """True when the value is computed and not typed by the user."""
        return bool(self.sum_of)

    @property
    def row_keys(self) -> list[str]:
        """Names of the sub-fields (row keys of a list, parts of an organisation)."""
        return [sub.name for sub in self.subfields]


def _spec_from_json(name: str, raw: dict[str, Any]) -> FieldSpec:
    kind = raw.get("type", "texte")
    if kind not in FIELD_TYPES:
        raise ValueError(f"fields.json: type inconnu {kind!r} pour {name!r}")
    subfields = tuple(
        _spec_from_json(sub["name"], sub) for sub in raw.get("subfields", [])
    )
    return FieldSpec(
        name=name,
        label=raw.get("label", name),
        type=kind,
        required=bool(raw.get("required", False)),
        help=raw.get("help", ""),
        subfields=subfields,
        example=raw.get("example"),
        default=raw.get("default"),
        minimum=raw.get("minimum"),
        maximum=raw.get("maximum"),
        sum_of=tuple(raw.get("sum_of", ())),
    )


@functools.lru_cache(maxsize=1)
def load_catalogue() -> dict[str, FieldSpec]:
    """The project-wide field catalogue, by field name (read once from data/fields.json)."""
    with CATALOGUE_PATH.open(encoding="utf-8") as fh:
        raw = json.load(fh)
    return {name: _spec_from_json(name, spec) for name, spec in raw["fields"].items()}


def _default_spec(name: str) -> FieldSpec:
    return FieldSpec(name=name, label=name.replace("_", " ").capitalize())


def specs_for_names(
    names: list[str],
    *,
    lists: dict[str, list[str]] | None = None,
    objects: dict[str, list[str]] | None = None,
) -> list[FieldSpec]:
    """Catalogue specs for template variable names (companions and totals resolved)."""
    catalogue = load_catalogue()
    lists = lists or {}
    objects = objects or {}
    result: dict[str, FieldSpec] = {}

    def add(name: str) -> None:
        if name in result:
            return
        spec = catalogue.get(name)
        if spec is None:
            base = _companion_base(name, catalogue)
            if base is not None:
                add(base)
                return
            if name in lists:
                spec = FieldSpec(
                    name=name,
                    label=_default_spec(name).label,
                    type="liste",
                    subfields=tuple(_default_spec(k) for k in lists[name]),
                )
            elif name in objects:
                spec = FieldSpec(
                    name=name,
                    label=_default_spec(name).label,
                    type="organisation",
                    subfields=tuple(_default_spec(k) for k in objects[name]),
                )
            else:
                spec = _default_spec(name)
        else:
            used = lists.get(name) if spec.type == "liste" else objects.get(name) if spec.type == "organisation" else None
            if used:
                # Only the parts the template shows are asked for; parts it uses that the
                # catalogue does not know become plain text.
                known = {sub.name: sub for sub in spec.subfields}
                spec = dataclasses.replace(
                    spec,
                    subfields=tuple(sub for sub in spec.subfields if sub.name in used)
                    + tuple(_default_spec(k) for k in used if k not in known),
                )
        for source in spec.sum_of:
            add(source.split("[", 1)[0])
        result[name] = spec

    for name in names:
        add(name)
    return list(result.values())


def _companion_base(name: str, catalogue: dict[str, FieldSpec]) -> str | None:
    """``montant_total_lettres`` -> ``montant_total`` (a companion made by validate_values)."""
    if name.endswith("_lettres"):
        base = name[: -len("_lettres")]
        if base in catalogue and catalogue[base].type == "montant":
            return base
    return None


def sample_values(fields: list[FieldSpec]) -> dict[str, Any]:
    """Raw values built from the catalogue examples (previews, tests, benchmarks)."""
    values: dict[str, Any] = {}
    for spec in fields:
        if spec.computed:
            continue
        example = spec.example if spec.example is not None else spec.default
        if example is None:
            if spec.type == "liste":
                example = [{sub.name: f"{sub.label} 1" for sub in spec.subfields}] if spec.subfields else [spec.label]
            elif spec.type == "organisation":
                example = {sub.name: sub.label for sub in spec.subfields}
            else:
                example = spec.label
        values[spec.name] = example
    return values
