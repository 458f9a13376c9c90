"""Word template engine: check, analyse and fill .docx models (docxtpl) safely.

A model is an ordinary Word file with Jinja tags (``{{ region_nom }}``,
``{%tr for a in annees %}``). Models are uploaded by administrators, so they are
treated as untrusted code:

- every template is parsed and rendered in a short-lived worker process with a
  wall-clock timeout, CPU and memory rlimits and an empty environment (no secret of
  the web app is visible there), inside a Jinja ``ImmutableSandboxedEnvironment``
  with ``autoescape=True``, an allowlist of filters, functions and methods, bounded
  string repetition and a bounded output size;
- the context holds plain values only (str, int, bool, Decimal turned into str,
  dates, lists and dicts of those), never ORM objects;
- ``check_template`` reports at upload time, naming the faulty tag, what would make
  generation fail later: Jinja syntax errors, tags cut across paragraphs or by Word
  markup that docxtpl cannot join again, unknown filters, forbidden constructs.

The field catalogue (``data/fields.json``) gives each field name a French label, a
type and whether it is required; ``validate_values`` turns what a user typed into
template values (dates and amounts formatted in French, amounts in words, totals).
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import functools
import gc
import io
import json
import os
import pickle
import re
import subprocess
import sys
import traceback
import zipfile
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterator

from jinja2 import StrictUndefined, Template, nodes
from jinja2 import exceptions as jinja_exceptions
from jinja2 import meta
from jinja2.runtime import LoopContext
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError, safe_range

from documents.errors import DomainError
from documents.formatting import (
    amount_in_words,
    format_amount,
    format_date,
    parse_amount,
    parse_date,
)

# --------------------------------------------------------------------------- limits

#: Wall-clock limit of one render or analysis, in seconds (worker start included).
DEFAULT_TIMEOUT = 10.0
#: Largest rendered XML (characters, per part) and largest resulting .docx (bytes).
DEFAULT_MAX_BYTES = 20 * 1024 * 1024
#: Address-space limit of the worker process.
DEFAULT_MAX_MEMORY = 768 * 1024 * 1024
#: Longest string or list a template may build with ``*`` (e.g. ``'-' * 40`` is fine).
MAX_REPEAT_LENGTH = 100_000
#: Limits on the uploaded package itself, checked before any XML is parsed.
MAX_TEMPLATE_BYTES = 20 * 1024 * 1024
MAX_UNCOMPRESSED_BYTES = 100 * 1024 * 1024
MAX_ZIP_ENTRIES = 1_000
MAX_COMPRESSION_RATIO = 200
#: Longest text accepted for one field.
MAX_TEXT_LENGTH = 20_000

DATA_DIR = Path(__file__).resolve().parent / "data"
MODELS_DIR = DATA_DIR / "models"
CATALOGUE_PATH = DATA_DIR / "fields.json"
_PROJECT_ROOT = Path(__file__).resolve().parent.parent


# --------------------------------------------------------------------------- errors


class TemplateError(DomainError):
    """A Word model cannot be used or filled; ``tag`` is the faulty tag, when known."""

    status = 422

    def __init__(self, message: str, *, tag: str | None = None, status: int | None = None) -> None:
        super().__init__(message, status=status)
        self.tag = tag

    def to_dict(self) -> dict[str, str | None]:
        """Plain form, for JSON answers and for crossing the worker boundary."""
        return {"message": self.message, "tag": self.tag}


# --------------------------------------------------------------------------- built-in models


@dataclass(frozen=True)
class BuiltinModel:
    """A Word model shipped with the application, built by ``scripts/build_models.py``."""

    slug: str
    title: str
    doc_type: str
    description: str

    @property
    def path(self) -> Path:
        """Where the .docx lives in the package."""
        return MODELS_DIR / f"{self.slug}.docx"

    def read_bytes(self) -> bytes:
        """The .docx content."""
        return self.path.read_bytes()


BUILTIN_MODELS: tuple[BuiltinModel, ...] = (
    BuiltinModel(
        slug="convention-drac-coordination",
        title="Convention annuelle DRAC – coordination régionale",
        doc_type="convention",
        description=(
            "Convention annuelle entre la DRAC et la coordination régionale : missions 1 à 6, "
            "moyens sur quatre lignes, versement, durée, bilan annuel, signatures."
        ),
    ),
    BuiltinModel(
        slug="avenant",
        title="Avenant à une convention",
        doc_type="avenant",
        description="Avenant modifiant les montants ou la date d'échéance d'une convention.",
    ),
    BuiltinModel(
        slug="contrat-objectifs",
        title="Contrat d'objectifs",
        doc_type="contrat_objectifs",
        description=(
            "Contrat d'objectifs annuel ou pluriannuel entre l'État (ou une Région) et une "
            "coordination : objectifs A à E, montants par année."
        ),
    ),
    BuiltinModel(
        slug="convention-cadre-signataires",
        title="Protocole national – renouvellement par les signataires",
        doc_type="protocole",
        description="Renouvellement du protocole national, un bloc de signature par signataire.",
    ),
    BuiltinModel(
        slug="compte-rendu-comite",
        title="Compte rendu de comité de pilotage",
        doc_type="compte_rendu",
        description=(
            "Compte rendu d'un comité de pilotage : présents, excusés, ordre du jour, "
            "décisions, prochaine réunion."
        ),
    ),
)


def builtin_model(slug: str) -> BuiltinModel:
    """The built-in model with this slug, or ``TemplateError`` (404)."""
    for model in BUILTIN_MODELS:
        if model.slug == slug:
            return model
    raise TemplateError(f"Modèle intégré inconnu : « {slug} ».", status=404)


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


def fields_for(data: bytes, *, timeout: float = DEFAULT_TIMEOUT) -> list[FieldSpec]:
    """The fields a user must fill for this template, in order of first use."""
    analysis = _analyse_isolated(data, timeout=timeout)
    _raise_first(analysis)
    return specs_for_names(analysis["variables"], lists=analysis["lists"], objects=analysis["objects"])


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


# --------------------------------------------------------------------------- value validation

_TRUE = {"oui", "o", "vrai", "true", "1", "on", "yes", "y"}
_FALSE = {"non", "n", "faux", "false", "0", "off", "no", ""}
# Characters XML 1.0 cannot hold; \x0b is Word's manual line break, kept as "\n".
_XML_INVALID = re.compile("[\x00-\x08\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def clean_text(value: Any) -> str:
    """Plain ``str`` fit for a .docx: CRLF -> LF, no XML-invalid control characters."""
    # encode/decode gives an exact ``str``: a ``markupsafe.Markup`` would otherwise slip
    # through autoescaping and inject raw XML into the document.
    text = str(value).encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x0b", "\n")
    # "\a" and "\f" mean "new paragraph" and "page break" to docxtpl: not for user text.
    return _XML_INVALID.sub("", text.replace("\a", ""))


def validate_values(
    fields: list[FieldSpec], raw: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    """Parse what a user typed into template values; return (values, French errors by field).

    Amounts ``X`` become ``X`` = "12 500,00 €" plus ``X_lettres`` in words; dates are
    written in French; totals (``sum_of``) are computed; every field gets a value, so a
    template never meets an undefined name.
    """
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    numbers: dict[str, Decimal] = {}
    row_numbers: dict[str, list[dict[str, Decimal]]] = {}

    for spec in fields:
        if spec.computed:
            continue
        given = _raw_value(spec, raw)
        if spec.type == "liste":
            rows, rows_dec = _validate_rows(spec, given, errors)
            values[spec.name] = rows
            row_numbers[spec.name] = rows_dec
        elif spec.type == "organisation":
            values[spec.name] = _validate_organisation(spec, given, errors)
        else:
            _validate_scalar(spec, spec.name, given, values, errors, numbers, label=spec.label)

    for spec in fields:
        if not spec.computed:
            continue
        total = Decimal("0.00")
        complete = True
        for source in spec.sum_of:
            if "[]." in source:
                list_name, _, column = source.partition("[].")
                if list_name in errors or any(k.startswith(f"{list_name}[") for k in errors):
                    complete = False
                total += sum((row.get(column, Decimal(0)) for row in row_numbers.get(list_name, [])), Decimal(0))
            elif source in numbers:
                total += numbers[source]
            elif source in errors:
                complete = False
        if complete:
            numbers[spec.name] = total
            values[spec.name] = format_amount(total)
            values[f"{spec.name}_lettres"] = amount_in_words(total)
        else:
            values[spec.name] = ""
            values[f"{spec.name}_lettres"] = ""
    return values, errors


def _raw_value(spec: FieldSpec, raw: dict[str, Any]) -> Any:
    if spec.name in raw:
        return raw[spec.name]
    if spec.type == "organisation":
        # Flat form posts: "drac.nom", "drac.adresse"…
        prefix = spec.name + "."
        flat = {k[len(prefix):]: v for k, v in raw.items() if k.startswith(prefix)}
        return flat or None
    return None


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _validate_scalar(
    spec: FieldSpec,
    key: str,
    given: Any,
    out: dict[str, Any],
    errors: dict[str, str],
    numbers: dict[str, Decimal],
    *,
    label: str,
) -> None:
    """Validate one scalar value into ``out[spec.name]`` (and companions); errors under ``key``."""
    name = spec.name
    if spec.type == "booléen":
        word = "" if given is None else str(given).strip().lower()
        if isinstance(given, bool):
            out[name] = given
        elif word in _TRUE:
            out[name] = True
        elif word in _FALSE:
            if spec.required and not word:
                errors[key] = f"« {label} » est obligatoire : répondez oui ou non."
            out[name] = False
        else:
            errors[key] = f"« {label} » : répondez oui ou non (reçu « {given} »)."
            out[name] = False
        return
    if isinstance(given, (list, dict)):
        errors[key] = f"« {label} » : une seule valeur est attendue."
        given = None
    if _is_blank(given):
        if spec.required:
            errors[key] = f"« {label} » est obligatoire."
        out[name] = ""
        if spec.type == "montant":
            out[f"{name}_lettres"] = ""
        return
    try:
        if spec.type == "date":
            day = given if isinstance(given, dt.date) else parse_date(str(given))
            out[name] = format_date(day)
        elif spec.type == "montant":
            amount = given if isinstance(given, Decimal) else parse_amount(str(given))
            if amount < 0:
                raise ValueError(f"Le montant ne peut pas être négatif (reçu « {given} »).")
            numbers[name] = amount
            out[name] = format_amount(amount)
            out[f"{name}_lettres"] = amount_in_words(amount)
        elif spec.type == "entier":
            number = _parse_int(given)
            if spec.minimum is not None and number < spec.minimum:
                raise ValueError(f"La valeur doit être au moins {spec.minimum}.")
            if spec.maximum is not None and number > spec.maximum:
                raise ValueError(f"La valeur doit être au plus {spec.maximum}.")
            out[name] = number
        else:  # texte, région
            text = clean_text(given).strip()
            if len(text) > MAX_TEXT_LENGTH:
                raise ValueError(f"Le texte est trop long ({len(text)} caractères, {MAX_TEXT_LENGTH} au plus).")
            out[name] = text
    except ValueError as exc:
        errors[key] = f"« {label} » : {exc}"
        out[name] = ""
        if spec.type == "montant":
            out[f"{name}_lettres"] = ""


def _parse_int(given: Any) -> int:
    if isinstance(given, bool):
        raise ValueError("Saisissez un nombre entier.")
    if isinstance(given, int):
        return given
    text = re.sub(r"[\s\u00a0\u202f]", "", str(given))
    if not re.fullmatch(r"-?\d{1,12}", text):
        raise ValueError(f"Saisissez un nombre entier, sans virgule (reçu « {given} »).")
    return int(text)


def _validate_organisation(spec: FieldSpec, given: Any, errors: dict[str, str]) -> dict[str, Any]:
    if given is not None and not isinstance(given, dict):
        errors[spec.name] = f"« {spec.label} » : valeur d'organisation attendue (nom, adresse…)."
        given = None
    given = given or {}
    result: dict[str, Any] = {}
    for sub in spec.subfields:
        sub_required = dataclasses.replace(sub, required=sub.required and spec.required)
        _validate_scalar(
            sub_required,
            f"{spec.name}.{sub.name}",
            given.get(sub.name),
            result,
            errors,
            {},
            label=f"{spec.label} – {sub.label}",
        )
    return result


def _validate_rows(
    spec: FieldSpec, given: Any, errors: dict[str, str]
) -> tuple[list[Any], list[dict[str, Decimal]]]:
    if given is None or given == "":
        given = []
    if isinstance(given, str):
        # A textarea: one item per line.
        given = [line for line in clean_text(given).split("\n")]
    if not isinstance(given, list):
        errors[spec.name] = f"« {spec.label} » : une liste est attendue."
        return [], []
    rows: list[Any] = []
    rows_dec: list[dict[str, Decimal]] = []
    for row in given:
        if not spec.subfields:
            if isinstance(row, dict):
                row = " ".join(str(v) for v in row.values() if v)
            text = clean_text(row).strip() if row is not None else ""
            if text:
                rows.append(text)
            continue
        if not isinstance(row, dict):
            errors[spec.name] = f"« {spec.label} » : chaque ligne doit avoir des colonnes."
            continue
        if all(_is_blank(row.get(sub.name)) for sub in spec.subfields):
            continue  # an empty line left at the end of a form
        index = len(rows)
        clean_row: dict[str, Any] = {}
        numbers: dict[str, Decimal] = {}
        for sub in spec.subfields:
            _validate_scalar(
                sub,
                f"{spec.name}[{index}].{sub.name}",
                row.get(sub.name),
                clean_row,
                errors,
                numbers,
                label=f"{spec.label}, ligne {index + 1} – {sub.label}",
            )
        rows.append(clean_row)
        rows_dec.append(numbers)
    if spec.required and not rows and spec.name not in errors:
        errors[spec.name] = f"« {spec.label} » : ajoutez au moins une ligne."
    return rows, rows_dec


def plain_context(values: dict[str, Any]) -> dict[str, Any]:
    """Check and normalise a template context: plain values only, never ORM objects."""
    return {_plain_key(k): _plain(v, k) for k, v in values.items()}


def _plain_key(key: Any) -> str:
    if type(key) is not str or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
        raise TypeError(f"nom de champ invalide dans le contexte : {key!r}")
    return key


def _plain(value: Any, path: str) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool) or type(value) is int:
        return value
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, Decimal):
        return str(value)
    if type(value) in (dt.date, dt.datetime):
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v, f"{path}[{i}]") for i, v in enumerate(value)]
    if type(value) is dict:
        return {_plain_key(k): _plain(v, f"{path}.{k}") for k, v in value.items()}
    raise TypeError(
        f"valeur non autorisée dans le contexte du modèle ({path}: {type(value).__name__}) : "
        "seuls str, int, bool, Decimal, date, listes et dicts le sont"
    )


# --------------------------------------------------------------------------- the sandbox


def _filter_date(value: Any) -> str:
    if isinstance(value, dt.date):
        return format_date(value)
    text = str(value)
    try:
        return format_date(parse_date(text))
    except ValueError:
        return text  # already written in French by validate_values


def _filter_amount(value: Any) -> str:
    try:
        return format_amount(value if isinstance(value, (Decimal, int)) else parse_amount(str(value)))
    except (ValueError, TypeError):
        return str(value)


def _filter_words(value: Any) -> str:
    try:
        return amount_in_words(value if isinstance(value, (Decimal, int)) else parse_amount(str(value)))
    except (ValueError, TypeError):
        return str(value)


# Built-in Jinja filters that cannot amplify output or reach internals.
_JINJA_FILTERS = (
    "capitalize", "count", "d", "default", "first", "int", "join", "last", "length",
    "lower", "round", "string", "sum", "title", "trim", "upper",
)
# Methods a template may call; everything else (str.ljust, str.format, dict.update…) is refused.
_ALLOWED_METHODS = {
    str: {"upper", "lower", "capitalize", "title", "strip", "lstrip", "rstrip", "startswith", "endswith"},
    dict: {"items", "keys", "values", "get"},
}
_ALLOWED_METHOD_NAMES = set().union(*_ALLOWED_METHODS.values()) | {"cycle", "changed"}
_ALLOWED_FUNCTIONS = {"range"}


class _Sandbox(ImmutableSandboxedEnvironment):
    """Jinja sandbox with allowlisted calls, bounded repetition and bounded output."""

    intercepted_binops = frozenset({"*", "**", "%"})

    def __init__(self, *, autoescape: bool = True, max_output: int = DEFAULT_MAX_BYTES) -> None:
        super().__init__(autoescape=autoescape, undefined=StrictUndefined, finalize=_finalize)
        self.max_output = max_output
        base = self.filters
        self.filters = {name: base[name] for name in _JINJA_FILTERS}
        self.filters.update(
            {"date_fr": _filter_date, "montant": _filter_amount, "en_lettres": _filter_words}
        )
        # No lipsum (unbounded), cycler/joiner/namespace/dict (needless surface).
        self.globals = {"range": safe_range}
        self.template_class = _BoundedTemplate

    def is_safe_callable(self, obj: Any) -> bool:
        """Only our functions and a few harmless methods may be called from a template."""
        if obj is safe_range:
            return True
        owner = getattr(obj, "__self__", None)
        name = getattr(obj, "__name__", "")
        if isinstance(owner, LoopContext):
            return name in {"cycle", "changed"}
        for kind, allowed in _ALLOWED_METHODS.items():
            if type(owner) is kind and name in allowed:
                return True
        return False

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        """Refuse ``'x' * 10**9`` and ``10 ** 10**10`` before they are computed."""
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                if isinstance(seq, (str, list, tuple)) and isinstance(times, int):
                    if len(seq) * times > MAX_REPEAT_LENGTH:
                        raise SecurityError(
                            f"repetition too long ({len(seq) * times} > {MAX_REPEAT_LENGTH})"
                        )
        if operator == "%" and isinstance(left, str):
            # "%999999999s" % x would build a huge string; templates have no use for it.
            raise SecurityError("string formatting with % is not allowed")
        if operator == "**" and isinstance(left, int) and isinstance(right, int):
            if right > 0 and abs(left) > 1 and left.bit_length() * right > 4096:
                raise SecurityError("power too large")
        return super().call_binop(context, operator, left, right)


def _finalize(value: Any) -> Any:
    return "" if value is None else value


class _OutputTooLarge(Exception):
    pass


class _BoundedTemplate(Template):
    """A template whose render stops as soon as its output passes ``max_output``."""

    def render(self, *args: Any, **kwargs: Any) -> str:
        limit = getattr(self.environment, "max_output", DEFAULT_MAX_BYTES)
        ctx = self.new_context(dict(*args, **kwargs))
        parts: list[str] = []
        size = 0
        try:
            for chunk in self.root_render_func(ctx):
                size += len(chunk)
                if size > limit:
                    raise _OutputTooLarge(size)
                parts.append(chunk)
        except _OutputTooLarge:
            raise
        except Exception:
            self.environment.handle_exception()
        return "".join(parts)


# --------------------------------------------------------------------------- package checks

_MAIN_DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
_W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def _check_package(data: bytes) -> None:
    """Refuse what is not a plain .docx (macro, .doc, .odt, zip bomb) before parsing it."""
    if not data:
        raise TemplateError("Le fichier est vide : choisissez un modèle Word (.docx).")
    if len(data) > MAX_TEMPLATE_BYTES:
        raise TemplateError(
            f"Le modèle est trop volumineux ({len(data) // 1024 // 1024} Mo) : "
            f"{MAX_TEMPLATE_BYTES // 1024 // 1024} Mo au plus.", status=413
        )
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise TemplateError(
            "Ce fichier est au format Word 97-2003 (.doc) : ouvrez-le dans Word et "
            "enregistrez-le au format « Document Word (*.docx) »."
        )
    if data[:4] != b"PK\x03\x04":
        raise TemplateError(
            "Ce fichier n'est pas un document Word .docx : enregistrez le modèle au format "
            "« Document Word (*.docx) »."
        )
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        raise TemplateError(
            "Le fichier .docx est endommagé ou incomplet : enregistrez-le de nouveau depuis Word."
        ) from None
    with archive:
        if len(infos) > MAX_ZIP_ENTRIES:
            raise TemplateError("Le fichier contient trop d'éléments pour être un modèle Word.")
        total = sum(info.file_size for info in infos)
        if total > MAX_UNCOMPRESSED_BYTES:
            raise TemplateError("Le fichier décompressé serait trop volumineux : modèle refusé.")
        for info in infos:
            if info.file_size > 1_000_000 and info.file_size > MAX_COMPRESSION_RATIO * max(info.compress_size, 1):
                raise TemplateError("Le fichier est anormalement compressé (bombe zip) : modèle refusé.")
        names = {info.filename for info in infos}
        if "mimetype" in names and "content.xml" in names:
            raise TemplateError(
                "Ce fichier est un document OpenDocument (.odt) : enregistrez-le au format "
                "« Document Word (*.docx) »."
            )
        if "[Content_Types].xml" not in names or "word/document.xml" not in names:
            raise TemplateError(
                "Ce fichier n'est pas un document Word .docx : enregistrez le modèle au format "
                "« Document Word (*.docx) »."
            )
        try:
            content_types = archive.read("[Content_Types].xml").decode("utf-8", "replace")
        except (zipfile.BadZipFile, OSError, ValueError, RuntimeError):
            raise TemplateError("Le fichier .docx est endommagé : enregistrez-le de nouveau depuis Word.") from None
    if "macroEnabled" in content_types or any(n.lower().endswith("vbaproject.bin") for n in names):
        raise TemplateError(
            "Ce modèle contient des macros (.docm) : elles sont refusées. Enregistrez-le au "
            "format « Document Word (*.docx) », sans macros."
        )
    if _MAIN_DOCX not in content_types:
        raise TemplateError(
            "Ce fichier n'est pas un document Word ordinaire (modèle .dotx ?) : enregistrez-le "
            "au format « Document Word (*.docx) »."
        )


# --------------------------------------------------------------------------- analysis

_TAG_RE = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.DOTALL)
_XML_TAG_RE = re.compile(r"<[^>]*>")
_MARKUP_IN_TAG = re.compile(r"</?w:[A-Za-z]")
_OPENERS = {"{{": "}}", "{%": "%}", "{#": "#}"}
_BLOCKS = {"for", "if", "with", "filter", "macro", "call", "block", "autoescape", "raw"}
_FORBIDDEN_NODES: dict[type, str] = {
    nodes.Include: "include",
    nodes.Import: "import",
    nodes.FromImport: "from … import",
    nodes.Extends: "extends",
    nodes.Macro: "macro",
    nodes.CallBlock: "call",
    nodes.Block: "block",
    nodes.ScopedEvalContextModifier: "autoescape",
    nodes.EvalContextModifier: "autoescape",
    nodes.NSRef: "namespace",
}
_FORBIDDEN_NAMES = {"self", "cycler", "joiner", "lipsum", "namespace", "dict", "caller", "varargs", "kwargs"}


class ParsedModel:
    """What a long-lived worker keeps of one model between renders (keyed by the model's SHA-256).

    docxtpl re-parses every part of the .docx for each render and re-applies its regex
    clean-up to the same XML; both depend only on the model's bytes. The worker parses the
    model once and renders a deep copy of that pristine package (lxml copies the trees in C,
    about a third of the parsing time), and remembers ``patch_xml``'s output per XML source.
    The output is byte for byte what a fresh ``DocxTemplate`` gives (tested).
    """

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pristine: Any = None
        self.patched: dict[str, str] = {}
        self.checked = False


def _make_docx_template(data: bytes, *, property_env: _Sandbox | None = None,
                        parsed: ParsedModel | None = None) -> Any:
    from docxtpl import DocxTemplate

    class _DocxTemplate(DocxTemplate):  # type: ignore[misc]
        last_source = ""

        def init_docx(self, reload: bool = True) -> None:
            if parsed is None:
                super().init_docx(reload)
                return
            if not self.docx or (self.is_rendered and reload):
                if parsed.pristine is None:
                    from docx import Document

                    parsed.pristine = Document(io.BytesIO(parsed.data))
                self.docx = copy.deepcopy(parsed.pristine)
                self.is_rendered = False

        def patch_xml(self, src_xml: str) -> str:
            if parsed is None:
                return str(super().patch_xml(src_xml))
            patched = parsed.patched.get(src_xml)
            if patched is None:
                patched = parsed.patched[src_xml] = str(super().patch_xml(src_xml))
            return patched

        def render_xml_part(self, src_xml: str, part: Any, context: Any, jinja_env: Any = None) -> str:
            self.last_source = src_xml  # kept to name the faulty tag of a render error
            return super().render_xml_part(src_xml, part, context, jinja_env)

        def render_properties(self, context: Any, jinja_env: Any = None) -> None:
            # Core properties are plain text set through python-docx, which escapes them:
            # autoescaping here would write "&amp;" into the document title.
            plain = property_env or _Sandbox(
                autoescape=False, max_output=getattr(jinja_env, "max_output", DEFAULT_MAX_BYTES)
            )
            super().render_properties(context, plain)

    return _DocxTemplate(io.BytesIO(data))


def _lines(xml: str) -> str:
    """Split patched XML into one line per paragraph, as docxtpl does before rendering."""
    return re.sub(r"<w:p([ >])", r"\n<w:p\1", xml)


def _display(tag: str) -> str:
    text = _XML_TAG_RE.sub("", tag)
    text = text.replace("&quot;", '"').replace("&apos;", "'").replace("&amp;", "&")
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= 120 else text[:117] + "…"


def _template_parts(tpl: Any) -> Iterator[tuple[str, str]]:
    """(part label, XML) for the body, headers, footers and footnotes, as docxtpl renders them."""
    doc = tpl.get_docx()
    yield "corps du document", tpl.xml_to_string(doc._element.body)
    for label, uri in (("en-tête", tpl.HEADER_URI), ("pied de page", tpl.FOOTER_URI)):
        for _key, part in tpl.get_headers_footers(uri):
            yield label, tpl.get_part_xml(part)
    for part in doc.part.package.parts:
        if part.content_type.endswith("wordprocessingml.footnotes+xml"):
            blob = part.blob
            yield "notes de bas de page", blob.decode("utf-8") if isinstance(blob, bytes) else blob


def _paragraph_texts(xml: str) -> Iterator[str]:
    """Visible text of each paragraph (runs joined), nested paragraphs apart."""
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    root = etree.fromstring(xml.encode("utf-8"), parser)
    p_tag, t_tag = f"{{{_W_NS}}}p", f"{{{_W_NS}}}t"
    for paragraph in root.iter(p_tag):
        texts = []
        for t in paragraph.iter(t_tag):
            owner = next(t.iterancestors(p_tag), None)
            if owner is paragraph and t.text:
                texts.append(t.text)
        yield "".join(texts)


def _split_paragraph_errors(xml: str, where: str) -> list[TemplateError]:
    """Tags opened in one paragraph and closed in another (Enter typed inside a tag)."""
    errors: list[TemplateError] = []
    pending: str | None = None
    for text in _paragraph_texts(xml):
        pos = 0
        if pending is not None:
            closer = _OPENERS[pending[:2]]
            end = text.find(closer)
            tail = text[: end + 2] if end >= 0 else text[:40]
            tag = f"{pending} ↵ {tail}".strip()
            errors.append(
                TemplateError(
                    f"La balise « {_display(tag)} » ({where}) est coupée par un retour à la ligne : "
                    "une balise doit tenir dans un seul paragraphe. Retapez-la sur une seule ligne.",
                    tag=_display(tag),
                )
            )
            pending = None
            pos = end + 2 if end >= 0 else len(text)
        while True:
            match = re.compile(r"\{[{%#]").search(text, pos)
            if not match:
                break
            opener = match.group(0)
            end = text.find(_OPENERS[opener], match.end())
            if end < 0:
                pending = text[match.start():]
                break
            pos = end + 2
    if pending is not None:
        errors.append(
            TemplateError(
                f"La balise « {_display(pending)} » ({where}) n'est jamais refermée : "
                f"ajoutez « {_OPENERS[pending[:2]]} » à la fin de la balise, dans le même paragraphe.",
                tag=_display(pending),
            )
        )
    return errors


def _tags_on_line(source: str, lineno: int) -> list[str]:
    lines = source.split("\n")
    if not 1 <= lineno <= len(lines):
        return []
    return [_display(t) for t in _TAG_RE.findall(lines[lineno - 1])]


def _french_syntax_detail(message: str) -> str:
    table = (
        ("unexpected end of template", "balise ouverte mais jamais fermée"),
        ("Encountered unknown tag", "instruction inconnue"),
        ("expected token 'end of print statement'", "expression mal écrite"),
        ("expected token 'end of statement block'", "instruction mal écrite"),
        ("unexpected '}'", "accolade fermante en trop ou mal placée"),
        ("unexpected char", "caractère inattendu"),
        ("unexpected '%'", "signe % mal placé"),
    )
    for needle, french in table:
        if needle in message:
            return f"{french} (détail : {message})"
    return f"détail : {message}"


def _block_structure_errors(source: str, where: str) -> list[TemplateError]:
    """Unclosed ``{% for %}``/``{% if %}`` and stray ``{% endfor %}``, naming the tag."""
    errors: list[TemplateError] = []
    stack: list[tuple[str, str]] = []
    for raw in re.findall(r"\{%.*?%\}", source, re.DOTALL):
        tag = _display(raw)
        inner = tag[2:-2].strip().lstrip("-+").rstrip("-+").strip()
        word = inner.split(" ", 1)[0] if inner else ""
        if word in _BLOCKS and not (word == "set"):
            stack.append((word, tag))
        elif word == "set" and "=" not in inner:
            stack.append(("set", tag))
        elif word.startswith("end") and word[3:] in _BLOCKS | {"set"}:
            if stack and stack[-1][0] == word[3:]:
                stack.pop()
            else:
                expected = f"{{% end{stack[-1][0]} %}}" if stack else "aucune"
                errors.append(
                    TemplateError(
                        f"La balise « {tag} » ({where}) ferme un bloc qui n'est pas ouvert "
                        f"(fermeture attendue : {expected}).",
                        tag=tag,
                    )
                )
                return errors
    for word, tag in stack:
        errors.append(
            TemplateError(
                f"La balise « {tag} » ({where}) ouvre un bloc qui n'est jamais fermé : "
                f"ajoutez « {{% end{word} %}} » (ou « {{%tr end{word} %}} » dans un tableau, "
                f"« {{%p end{word} %}} » pour un paragraphe).",
                tag=tag,
            )
        )
    return errors


def _node_tag(source: str, node: nodes.Node, needle: str) -> str:
    tags = _tags_on_line(source, getattr(node, "lineno", 0) or 0)
    for tag in tags:
        if needle in tag:
            return tag
    return tags[0] if tags else needle


def _construct_errors(env: _Sandbox, ast: nodes.Template, source: str, where: str) -> list[TemplateError]:
    """Unknown filters and forbidden constructs, found in the parsed template."""
    errors: list[TemplateError] = []

    def refuse(node: nodes.Node, needle: str, message: str) -> None:
        tag = _node_tag(source, node, needle)
        errors.append(TemplateError(f"La balise « {tag} » ({where}) : {message}", tag=tag))

    for node in ast.find_all(nodes.Node):
        for kind, label in _FORBIDDEN_NODES.items():
            if isinstance(node, kind):
                refuse(node, label.split(" ")[0], f"l'instruction « {label} » est interdite dans un modèle.")
        if isinstance(node, nodes.Filter) and node.name not in env.filters:
            refuse(
                node, node.name,
                f"filtre inconnu « {node.name} ». Filtres permis : {', '.join(sorted(env.filters))}.",
            )
        elif isinstance(node, nodes.Test) and node.name not in env.tests:
            refuse(node, node.name, f"test inconnu « {node.name} ».")
        elif isinstance(node, nodes.Getattr) and node.attr.startswith("_"):
            refuse(node, node.attr, f"accès interdit à « {node.attr} ».")
        elif (
            isinstance(node, nodes.Getitem)
            and isinstance(node.arg, nodes.Const)
            and isinstance(node.arg.value, str)
            and node.arg.value.startswith("_")
        ):
            refuse(node, node.arg.value, f"accès interdit à « {node.arg.value} ».")
        elif isinstance(node, nodes.Name) and (node.name in _FORBIDDEN_NAMES or node.name.startswith("_")):
            refuse(node, node.name, f"le nom « {node.name} » est réservé et interdit dans un modèle.")
        elif isinstance(node, nodes.Mod) and isinstance(node.left, nodes.Const) and isinstance(node.left.value, str):
            refuse(node, "%", "le formatage de texte avec « % » est interdit dans un modèle.")
        elif isinstance(node, nodes.Call):
            target = node.node
            if isinstance(target, nodes.Name) and target.name in _ALLOWED_FUNCTIONS:
                continue
            if isinstance(target, nodes.Getattr) and target.attr in _ALLOWED_METHOD_NAMES:
                continue
            name = target.attr if isinstance(target, nodes.Getattr) else getattr(target, "name", "?")
            refuse(node, name, f"l'appel « {name}(…) » est interdit dans un modèle.")
    return errors


def _ordered_names(ast: nodes.Template) -> list[str]:
    undeclared = meta.find_undeclared_variables(ast)
    ordered: list[str] = []
    for node in ast.find_all(nodes.Name):
        if node.ctx == "load" and node.name in undeclared and node.name not in ordered:
            ordered.append(node.name)
    return ordered


def _collect_keys(ast: nodes.Template, names: list[str]) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Row keys of lists (``{% for a in annees %}{{ a.montant }}``) and parts of objects."""
    lists: dict[str, list[str]] = {}
    loop_targets: set[str] = set()
    for loop in ast.find_all(nodes.For):
        if isinstance(loop.iter, nodes.Name) and loop.iter.name in names:
            keys = lists.setdefault(loop.iter.name, [])
            if isinstance(loop.target, nodes.Name):
                item = loop.target.name
                loop_targets.add(item)
                for sub in loop.find_all((nodes.Getattr, nodes.Getitem)):
                    key = _attr_of(sub, item)
                    if key and key not in keys:
                        keys.append(key)
    objects: dict[str, list[str]] = {}
    for sub in ast.find_all((nodes.Getattr, nodes.Getitem)):
        for name in names:
            if name in lists or name in loop_targets:
                continue
            key = _attr_of(sub, name)
            if key:
                keys = objects.setdefault(name, [])
                if key not in keys:
                    keys.append(key)
    return lists, objects


def _attr_of(node: nodes.Node, owner: str) -> str | None:
    if not (isinstance(node.node, nodes.Name) and node.node.name == owner):  # type: ignore[attr-defined]
        return None
    if isinstance(node, nodes.Getattr):
        return node.attr
    if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
        return node.arg.value
    return None


def _check_part(tpl: Any, env: _Sandbox, where: str, xml: str) -> tuple[list[TemplateError], nodes.Template | None]:
    """All checks of one part (body, header…): split tags, syntax, forbidden constructs."""
    errors = _split_paragraph_errors(xml, where)
    source = _lines(tpl.patch_xml(xml))
    for raw in _TAG_RE.findall(source):
        if _MARKUP_IN_TAG.search(raw):
            tag = _display(raw)
            errors.append(
                TemplateError(
                    f"La balise « {tag} » ({where}) est coupée par un élément Word (champ, "
                    "commentaire, suivi des modifications, zone de texte…) que le moteur ne sait "
                    "pas recoller : supprimez-la et retapez-la d'un seul tenant.",
                    tag=tag,
                )
            )
    if errors:
        return errors, None
    for raw in re.findall(r"\{\{.*?\}\}", source, re.DOTALL):
        try:
            env.parse(raw)
        except jinja_exceptions.TemplateSyntaxError as exc:
            tag = _display(raw)
            errors.append(
                TemplateError(
                    f"Erreur de syntaxe dans la balise « {tag} » ({where}) : "
                    f"{_french_syntax_detail(exc.message or '')}.",
                    tag=tag,
                )
            )
    if errors:
        return errors, None
    errors = _block_structure_errors(source, where)
    if errors:
        return errors, None
    try:
        ast = env.parse(source)
    except jinja_exceptions.TemplateSyntaxError as exc:
        tags = _tags_on_line(source, exc.lineno or 0)
        tag = tags[0] if tags else None
        return [
            TemplateError(
                f"Erreur de syntaxe dans la balise « {tag or '?'} » ({where}) : "
                f"{_french_syntax_detail(exc.message or '')}.",
                tag=tag,
            )
        ], None
    errors = _construct_errors(env, ast, source, where)
    if not errors:
        try:
            env.compile(source)
        except jinja_exceptions.TemplateError as exc:
            errors.append(TemplateError(f"Le modèle ({where}) ne peut pas être compilé : {exc}."))
    return errors, ast


_RENDERED_PROPERTIES = ("author", "comments", "identifier", "language", "subject", "title")


def _check_properties(tpl: Any, env: _Sandbox) -> list[TemplateError]:
    """docxtpl also renders some core properties (title, subject…): check them the same way."""
    errors: list[TemplateError] = []
    props = tpl.get_docx().core_properties
    for name in _RENDERED_PROPERTIES:
        text = getattr(props, name) or ""
        if "{" not in text:
            continue
        where = f"propriété « {name} » du document"
        try:
            ast = env.parse(text)
        except jinja_exceptions.TemplateSyntaxError as exc:
            errors.append(
                TemplateError(
                    f"Erreur de syntaxe dans la {where} : {_french_syntax_detail(exc.message or '')}.",
                    tag=_display(text),
                )
            )
            continue
        errors.extend(_construct_errors(env, ast, text, where))
    return errors


def _analyse(data: bytes) -> dict[str, Any]:
    """Check a template and find its fields; runs inside the worker (untrusted input)."""
    try:
        _check_package(data)
        tpl = _make_docx_template(data)
        parts = list(_template_parts(tpl))
    except TemplateError as exc:
        return {"errors": [exc.to_dict()], "variables": [], "lists": {}, "objects": {}}
    except Exception as exc:  # python-docx refusing the package, broken XML…
        error = TemplateError(
            "Le fichier n'a pas pu être lu comme un document Word : enregistrez-le de nouveau "
            f"au format .docx depuis Word ({type(exc).__name__})."
        )
        return {"errors": [error.to_dict()], "variables": [], "lists": {}, "objects": {}}

    env = _Sandbox()
    errors: list[TemplateError] = _check_properties(tpl, env)
    names: list[str] = []
    lists: dict[str, list[str]] = {}
    objects: dict[str, list[str]] = {}
    for where, xml in parts:
        part_errors, ast = _check_part(tpl, env, where, xml)
        errors.extend(part_errors)
        if ast is None or part_errors:
            continue
        for name in _ordered_names(ast):
            if name not in names and name not in env.globals:
                names.append(name)
        part_lists, part_objects = _collect_keys(ast, names)
        for target, found in ((lists, part_lists), (objects, part_objects)):
            for key, values in found.items():
                merged = target.setdefault(key, [])
                merged.extend(v for v in values if v not in merged)
    unique: dict[str, TemplateError] = {}
    for error in errors:
        unique.setdefault(error.message, error)
    return {
        "errors": [e.to_dict() for e in unique.values()],
        "variables": names,
        "lists": lists,
        "objects": objects,
    }


@dataclass
class TemplateReport:
    """What ``check_template`` found: errors (each naming its tag) and the fields used."""

    errors: list[TemplateError] = field(default_factory=list)
    fields: list[str] = field(default_factory=list)
    lists: dict[str, list[str]] = field(default_factory=dict)
    objects: dict[str, list[str]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when the template can be stored and used."""
        return not self.errors

    def raise_if_invalid(self) -> None:
        """Raise the first error, for callers that want an exception."""
        if self.errors:
            raise self.errors[0]


def check_template(data: bytes, *, timeout: float = DEFAULT_TIMEOUT) -> TemplateReport:
    """Check an uploaded Word model; every problem is reported with the faulty tag."""
    try:
        analysis = _analyse_isolated(data, timeout=timeout)
    except TemplateError as exc:
        return TemplateReport(errors=[exc])
    return TemplateReport(
        errors=[TemplateError(e["message"], tag=e.get("tag")) for e in analysis["errors"]],
        fields=list(analysis["variables"]),
        lists=dict(analysis["lists"]),
        objects=dict(analysis["objects"]),
    )


def template_fields(data: bytes, *, timeout: float = DEFAULT_TIMEOUT) -> list[str]:
    """Names of the variables a template uses, in order of first use."""
    analysis = _analyse_isolated(data, timeout=timeout)
    _raise_first(analysis)
    return list(analysis["variables"])


def _raise_first(analysis: dict[str, Any]) -> None:
    if analysis["errors"]:
        first = analysis["errors"][0]
        raise TemplateError(first["message"], tag=first.get("tag"))


def _analyse_isolated(data: bytes, *, timeout: float) -> dict[str, Any]:
    payload = _run_worker(
        {"task": "analyse", "template": data},
        timeout=timeout,
        max_memory=DEFAULT_MAX_MEMORY,
        max_output=DEFAULT_MAX_BYTES,
    )
    return json.loads(payload.decode("utf-8"))


# --------------------------------------------------------------------------- rendering


def render(
    template_bytes: bytes,
    values: dict[str, Any],
    *,
    timeout: float = DEFAULT_TIMEOUT,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_memory: int = DEFAULT_MAX_MEMORY,
) -> bytes:
    """Fill a Word model with values in a bounded worker process; return the .docx bytes."""
    context = plain_context(values)
    output = _run_worker(
        {"task": "render", "template": template_bytes, "context": context, "max_bytes": max_bytes},
        timeout=timeout,
        max_memory=max_memory,
        max_output=max_bytes,
    )
    if len(output) > max_bytes:
        raise TemplateError(_too_large_message(max_bytes))
    if not zipfile.is_zipfile(io.BytesIO(output)):
        raise TemplateError("La génération n'a pas produit de document Word valide.", status=500)
    return output


def _too_large_message(max_bytes: int) -> str:
    return (
        f"Le document produit dépasse la taille maximale ({max_bytes // 1024 // 1024} Mo) : "
        "le modèle contient probablement une boucle ou une répétition trop longue."
    )


def _render_in_process(
    data: bytes,
    context: dict[str, Any],
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    env: _Sandbox | None = None,
    property_env: _Sandbox | None = None,
    checked: bool = False,
    parsed: ParsedModel | None = None,
) -> bytes:
    """Render in the current process (the worker calls this; so do the benchmarks).

    ``env``/``property_env`` let the long-lived worker reuse sandboxes that cache compiled
    parts; ``checked=True`` skips the pre-render checks of a template whose exact bytes
    already passed them in this process; ``parsed`` (the worker's entry for these bytes)
    reuses the parsed package and cleaned-up XML of earlier renders.
    """
    _check_package(data)
    tpl = _make_docx_template(data, property_env=property_env, parsed=parsed)
    env = env if env is not None else _Sandbox(max_output=max_bytes)
    try:
        # Forbidden constructs are refused before anything runs, even if the model was
        # stored without going through check_template.
        if not checked:
            _precheck(tpl, env)
        tpl.render(context, jinja_env=env)
        out = io.BytesIO()
        tpl.save(out)
    except TemplateError:
        raise
    except _OutputTooLarge:
        raise TemplateError(_too_large_message(max_bytes)) from None
    except Exception as exc:
        raise _render_failure(exc, tpl.last_source) from None
    result = out.getvalue()
    if len(result) > max_bytes:
        raise TemplateError(_too_large_message(max_bytes))
    return result


def _precheck(tpl: Any, env: _Sandbox) -> None:
    """Raise the first problem ``check_template`` would report (run before any render)."""
    for where, xml in _template_parts(tpl):
        part_errors, _ast = _check_part(tpl, env, where, xml)
        if part_errors:
            raise part_errors[0]
    property_errors = _check_properties(tpl, env)
    if property_errors:
        raise property_errors[0]


def _render_failure(exc: BaseException, source: str) -> TemplateError:
    """A French message for an exception raised while rendering, naming the tag if possible."""
    lineno = 0
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename == "<template>" and frame.lineno:
            lineno = frame.lineno
    tags = _tags_on_line(_lines(source), lineno) if lineno else []
    tag = tags[0] if tags else None
    where = f"la balise « {tag} »" if tag else "le modèle"
    if isinstance(exc, SecurityError):
        return TemplateError(
            f"{where.capitalize()} tente une opération interdite ({exc}) : rien n'a été exécuté. "
            "Corrigez le modèle.", tag=tag,
        )
    if isinstance(exc, jinja_exceptions.UndefinedError):
        match = re.search(r"'([^']+)' is undefined", str(exc))
        name = match.group(1) if match else str(exc)
        return TemplateError(
            f"Aucune valeur pour « {name} » dans {where} : renseignez ce champ ou corrigez la "
            "balise du modèle.", tag=tag,
        )
    if isinstance(exc, OverflowError):
        return TemplateError(
            f"Dans {where}, une boucle est trop longue (plus de 100 000 tours) : corrigez le modèle.",
            tag=tag,
        )
    if isinstance(exc, MemoryError):
        return TemplateError(
            f"{where.capitalize()} demande trop de mémoire (texte construit trop long) : corrigez le modèle.",
            tag=tag,
        )
    if isinstance(exc, RecursionError):
        return TemplateError(f"{where.capitalize()} est trop profondément imbriqué.", tag=tag)
    if isinstance(exc, jinja_exceptions.TemplateError):
        return TemplateError(f"Le remplissage a échoué dans {where} : {exc}.", tag=tag)
    return TemplateError(
        f"Le remplissage du modèle a échoué dans {where} ({type(exc).__name__} : {exc}).", tag=tag
    )


# --------------------------------------------------------------------------- worker process

#: Interpreter of the worker process. Under a server whose ``sys.executable`` is not
#: Python (uWSGI), set this to the virtualenv's python.
WORKER_PYTHON = sys.executable

_WORKER_CODE = (
    "import sys; sys.path.insert(0, sys.argv[1]); "
    "from documents.generation import _worker_main; _worker_main()"
)


def _spawn_worker(code: str, *, stderr: int) -> subprocess.Popen[bytes]:
    """Start a sandbox worker running ``code`` with pipes on stdin/stdout."""
    # An empty environment: the worker runs untrusted templates and must not see the
    # web app's secrets (SECRET_KEY, database URL…) even through a sandbox escape.
    env = {"PATH": os.defpath, "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1"}
    try:
        return subprocess.Popen(
            [WORKER_PYTHON, "-I", "-c", code, str(_PROJECT_ROOT)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            env=env,
            cwd="/",
            close_fds=True,
        )
    except OSError as exc:
        raise TemplateError(
            f"Le moteur de génération n'a pas pu démarrer ({exc}) : réessayez plus tard.", status=503
        ) from None


def _run_worker(task: dict[str, Any], *, timeout: float, max_memory: int, max_output: int) -> bytes:
    """Run ``task`` in a fresh, limited Python process; return its payload or raise TemplateError."""
    request = pickle.dumps(
        {**task, "timeout": timeout, "max_memory": max_memory}, protocol=pickle.HIGHEST_PROTOCOL
    )
    proc = _spawn_worker(_WORKER_CODE, stderr=subprocess.PIPE)
    try:
        stdout, stderr = proc.communicate(request, timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise TemplateError(
            f"La génération a été arrêtée après {timeout:g} secondes : le modèle contient "
            "probablement une boucle trop longue ou sans fin. Corrigez le modèle.",
        ) from None
    if stdout[:2] == b"OK":
        return stdout[2:]
    if stdout[:2] == b"ER":
        try:
            error = json.loads(stdout[2:].decode("utf-8"))
            return _raise_worker_error(error)
        except (ValueError, KeyError, TypeError):
            pass
    if proc.returncode in (-9, -24, 137, 152) or b"MemoryError" in stderr:
        raise TemplateError(
            "La génération a été arrêtée : le modèle demande trop de temps de calcul ou de "
            "mémoire (boucle ou texte trop long). Corrigez le modèle."
        )
    raise TemplateError(
        f"Le moteur de génération s'est arrêté de façon inattendue (code {proc.returncode}).",
        status=500,
    )


def _raise_worker_error(error: dict[str, Any]) -> bytes:
    raise TemplateError(str(error["message"]), tag=error.get("tag"), status=error.get("status"))


def _set_limits(*, timeout: float, max_memory: int) -> None:
    import math
    import resource

    cpu = max(1, math.ceil(timeout)) + 1
    limits = [
        (resource.RLIMIT_CPU, (cpu, cpu + 1)),
        (resource.RLIMIT_AS, (max_memory, max_memory)),
        (resource.RLIMIT_FSIZE, (0, 0)),  # no file may be written
        (resource.RLIMIT_CORE, (0, 0)),
    ]
    for kind, value in limits:
        try:
            resource.setrlimit(kind, value)
        except (ValueError, OSError):
            pass  # a lower hard limit already applies


def _deterministic_zip() -> None:
    """Write .docx entries with a fixed date (worker processes only).

    python-docx stamps every zip entry with the current time, so the same model and values
    gave different bytes two seconds apart: the archive could then not see that a
    "regenerated" draft is identical to the current version. The date is the DOS epoch.
    """
    from zipfile import ZIP_DEFLATED, ZipInfo

    from docx.opc import phys_pkg

    def write(self: Any, pack_uri: Any, blob: bytes) -> None:
        info = ZipInfo(pack_uri.membername, date_time=(1980, 1, 1, 0, 0, 0))
        info.compress_type = ZIP_DEFLATED
        self._zipf.writestr(info, blob)

    phys_pkg._ZipPkgWriter.write = write  # type: ignore[method-assign]


def _worker_main() -> None:
    """Entry point of the worker process: read a pickled task on stdin, answer on stdout."""
    out = sys.stdout.buffer
    request = pickle.loads(sys.stdin.buffer.read())
    _deterministic_zip()
    _set_limits(timeout=float(request["timeout"]), max_memory=int(request["max_memory"]))
    try:
        if request["task"] == "analyse":
            payload = json.dumps(_analyse(request["template"]), ensure_ascii=False).encode("utf-8")
        else:
            payload = _render_in_process(
                request["template"], request["context"], max_bytes=int(request["max_bytes"])
            )
    except TemplateError as exc:
        out.write(b"ER" + json.dumps({**exc.to_dict(), "status": exc.status}).encode("utf-8"))
    except MemoryError:
        out.write(b"ER" + json.dumps({"message": _render_failure(MemoryError(), "").message}).encode("utf-8"))
    except Exception as exc:  # never a bare traceback: the parent gets a French message
        out.write(b"ER" + json.dumps({"message": _render_failure(exc, "").message}).encode("utf-8"))
    else:
        out.write(b"OK" + payload)
    out.flush()


# --------------------------------------------------------------------------- reusable worker
#
# ``render`` above starts a fresh interpreter per document: ~150-200 ms of start-up and
# imports for a 25-90 ms render. ``RenderWorker`` keeps one sandboxed worker process alive
# and sends it jobs over a pipe. What stays the same: the worker runs with an empty
# environment, ``-I``, ``cwd=/``, no file writes (RLIMIT_FSIZE 0) and an address-space
# cap; each job has its own wall-clock bound (the parent kills the worker when a job
# overruns it and starts a new one for the next job); output size is bounded the same way.
# What changes, and why it is acceptable:
# - RLIMIT_CPU counts the whole life of a process, so it becomes a budget for the worker:
#   the parent retires the worker before the budget could cut a job short, and also after
#   ``max_jobs`` jobs or any failure that is not a plain template error (MemoryError…).
# - Jobs share a process. A template that escaped the sandbox could tamper with later jobs
#   of the same worker (it still sees no secret: empty environment, no database); templates
#   are uploaded by administrators only and checked at upload, and workers are recycled.
# - The worker caches, per template (by SHA-256 of its bytes): the fact that it passed the
#   pre-render checks, and the compiled Jinja code of each part. Both depend only on the
#   template bytes, so a cache hit renders exactly what a fresh process would.
# Replies are never unpickled by the parent: a JSON header plus raw bytes, so even a
# compromised worker cannot run code in the web process.

#: CPU seconds a worker may spend before it is replaced (its RLIMIT_CPU is a bit above).
DEFAULT_WORKER_CPU_BUDGET = 300
#: Jobs a worker runs before it is replaced.
DEFAULT_WORKER_MAX_JOBS = 1000
#: Templates (and their compiled parts) a worker keeps in memory.
WORKER_TEMPLATE_CACHE = 8

_LOOP_CODE = (
    "import sys; sys.path.insert(0, sys.argv[1]); "
    "from documents.generation import _worker_loop; _worker_loop()"
)


@dataclass
class RenderResult:
    """A rendered .docx and, when asked for, its plain text (for the search index)."""

    data: bytes
    text: str | None = None
    text_reason: str = ""


class _CachingSandbox(_Sandbox):
    """The sandbox, remembering compiled templates by source (one worker, many renders)."""

    def __init__(self, *, autoescape: bool = True, max_output: int = DEFAULT_MAX_BYTES, size: int = 64) -> None:
        super().__init__(autoescape=autoescape, max_output=max_output)
        self._compiled: dict[str, Template] = {}
        self._size = size

    def from_string(self, source: Any, globals: Any = None, template_class: Any = None) -> Any:  # noqa: A002
        """Compile once per distinct source; the compiled code is reused by later renders."""
        if globals is not None or template_class is not None or not isinstance(source, str):
            return super().from_string(source, globals, template_class)
        compiled = self._compiled.get(source)
        if compiled is None:
            compiled = super().from_string(source)
            if len(self._compiled) >= self._size:
                self._compiled.pop(next(iter(self._compiled)))
            self._compiled[source] = compiled
        return compiled


def _write_frame(stream: Any, payload: bytes) -> None:
    stream.write(len(payload).to_bytes(8, "big") + payload)
    stream.flush()


def _read_exact(stream: Any, size: int) -> bytes | None:
    chunks: list[bytes] = []
    while size:
        chunk = stream.read(size)
        if not chunk:
            return None
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def _read_frame(stream: Any) -> bytes | None:
    head = _read_exact(stream, 8)
    if head is None:
        return None
    return _read_exact(stream, int.from_bytes(head, "big"))


def _docx_plain_text(data: bytes) -> tuple[str | None, str]:
    """Text of a rendered .docx, as the archive's extraction would read it (inside the worker)."""
    from documents import extraction

    class _InMemory(io.BytesIO):
        name = "brouillon.docx"

        def stat(self) -> Any:
            return os.stat_result((0, 0, 0, 0, 0, 0, len(self.getvalue()), 0, 0, 0))

    try:
        text = extraction._clean(extraction._docx_text(_InMemory(data)))  # type: ignore[arg-type]
    except Exception as exc:  # noqa: BLE001 - the draft is kept; only its text is missing
        return None, f"Extraction impossible ({type(exc).__name__}) : texte non indexé."
    return text, ""


def _worker_loop() -> None:
    """Entry point of a long-lived worker: pickled jobs in, JSON header + bytes out."""
    import resource

    inp, out = sys.stdin.buffer, sys.stdout.buffer
    hello = _read_frame(inp)
    if hello is None:
        return
    settings = pickle.loads(hello)
    budget = int(settings["cpu_budget"])
    limits = [
        (resource.RLIMIT_CPU, (budget + 5, budget + 6)),
        (resource.RLIMIT_AS, (int(settings["max_memory"]),) * 2),
        (resource.RLIMIT_FSIZE, (0, 0)),
        (resource.RLIMIT_CORE, (0, 0)),
    ]
    for kind, value in limits:
        try:
            resource.setrlimit(kind, value)
        except (ValueError, OSError):
            pass
    _deterministic_zip()
    templates: dict[str, ParsedModel] = {}
    envs: dict[int, tuple[_CachingSandbox, _CachingSandbox]] = {}

    def reply(header: dict[str, Any], data: bytes = b"") -> None:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        header["cpu"] = usage.ru_utime + usage.ru_stime
        blob = json.dumps(header, ensure_ascii=False).encode("utf-8")
        out.write(len(blob).to_bytes(8, "big") + blob + len(data).to_bytes(8, "big") + data)
        out.flush()

    while True:
        frame = _read_frame(inp)
        if frame is None:
            return
        request = pickle.loads(frame)
        key = request["key"]
        entry = templates.get(key)
        if entry is None:
            if request.get("template") is None:
                reply({"status": "missing"})
                continue
            if len(templates) >= WORKER_TEMPLATE_CACHE:
                templates.pop(next(iter(templates)))
                gc.unfreeze()  # let the next full collection free the evicted model (see below)
            entry = templates[key] = ParsedModel(request["template"])
        max_bytes = int(request["max_bytes"])
        if max_bytes not in envs:
            envs[max_bytes] = (
                _CachingSandbox(max_output=max_bytes),
                _CachingSandbox(autoescape=False, max_output=max_bytes),
            )
        env, property_env = envs[max_bytes]
        parsed_before = entry.pristine is not None
        try:
            data = _render_in_process(
                entry.data, request["context"], max_bytes=max_bytes,
                env=env, property_env=property_env, checked=entry.checked, parsed=entry,
            )
            entry.checked = True
            text, reason = _docx_plain_text(data) if request.get("with_text") else (None, "")
        except TemplateError as exc:
            reply({"status": "error", "error": {**exc.to_dict(), "status": exc.status}})
            continue
        except BaseException as exc:  # noqa: BLE001 - state may be damaged: answer, then exit
            message = _render_failure(exc if isinstance(exc, Exception) else RuntimeError(), "").message
            reply({"status": "error", "fatal": True, "error": {"message": message}})
            return
        reply({"status": "ok", "text": text, "text_reason": reason}, data)
        if not parsed_before and entry.pristine is not None:
            # A model was parsed for the first time: move it (and everything else alive)
            # out of the collector's sight. Each full collection used to walk the kept
            # models' tens of thousands of objects, and with a render deep-copying one,
            # those collections fell on every other render of a model (+4 ms measured).
            gc.collect()
            gc.freeze()


class RenderWorker:
    """A long-lived sandboxed render process; thread-safe (one job at a time).

    ``render`` has the same bounds and errors as the module-level ``render`` but starts
    no process per document. Close it (or use it as a context manager) when done.
    """

    def __init__(
        self,
        *,
        max_memory: int = DEFAULT_MAX_MEMORY,
        cpu_budget: int = DEFAULT_WORKER_CPU_BUDGET,
        max_jobs: int = DEFAULT_WORKER_MAX_JOBS,
    ) -> None:
        import threading

        self.max_memory = max_memory
        self.cpu_budget = cpu_budget
        self.max_jobs = max_jobs
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._sent: set[str] = set()
        self._jobs = 0
        #: Workers started so far (a test can see that a runaway job got its worker replaced).
        self.starts = 0

    def __enter__(self) -> RenderWorker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def pid(self) -> int | None:
        """Process id of the current worker, if one runs."""
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    def close(self) -> None:
        """Stop the worker process (a later job starts a new one)."""
        with self._lock:
            self._stop()

    def _start(self) -> subprocess.Popen[bytes]:
        proc = _spawn_worker(_LOOP_CODE, stderr=subprocess.DEVNULL)
        assert proc.stdin is not None
        _write_frame(proc.stdin, pickle.dumps({"cpu_budget": self.cpu_budget, "max_memory": self.max_memory}))
        self._proc, self._sent, self._jobs = proc, set(), 0
        self.starts += 1
        return proc

    def _stop(self) -> None:
        proc, self._proc = self._proc, None
        self._sent = set()
        if proc is None:
            return
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                stream.close()

    def _read(self, proc: subprocess.Popen[bytes], size: int, deadline: float) -> bytes | None:
        """``size`` bytes from the worker, or None if it died or the deadline passed."""
        import select
        import time

        assert proc.stdout is not None
        fd = proc.stdout.fileno()
        chunks: list[bytes] = []
        while size:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
                raise TimeoutError
            chunk = os.read(fd, min(size, 1 << 20))
            if not chunk:
                return None
            chunks.append(chunk)
            size -= len(chunk)
        return b"".join(chunks)

    def _exchange(self, request: dict[str, Any], *, timeout: float, max_bytes: int) -> tuple[dict[str, Any], bytes]:
        import time

        proc = self._proc if self._proc is not None and self._proc.poll() is None else self._start()
        assert proc.stdin is not None
        deadline = time.monotonic() + timeout
        try:
            _write_frame(proc.stdin, pickle.dumps(request, protocol=pickle.HIGHEST_PROTOCOL))
            head = self._read(proc, 8, deadline)
            size = int.from_bytes(head, "big") if head else 0
            blob = self._read(proc, size, deadline) if head and size <= 16 * 1024 * 1024 else None
            data_head = self._read(proc, 8, deadline) if blob is not None else None
            data_size = int.from_bytes(data_head, "big") if data_head else 0
            if data_head is None or data_size > max_bytes + 1024:
                data = None
            else:
                data = self._read(proc, data_size, deadline)
        except TimeoutError:
            self._stop()
            raise TemplateError(
                f"La génération a été arrêtée après {timeout:g} secondes : le modèle contient "
                "probablement une boucle trop longue ou sans fin. Corrigez le modèle.",
            ) from None
        except (BrokenPipeError, OSError):
            blob = data = None
        if blob is None or data is None:
            self._stop()
            raise TemplateError(
                "La génération a été arrêtée : le modèle demande trop de temps de calcul ou de "
                "mémoire (boucle ou texte trop long). Corrigez le modèle."
            )
        try:
            header = json.loads(blob.decode("utf-8"))
            if not isinstance(header, dict):
                raise ValueError(header)
        except ValueError:
            self._stop()
            raise TemplateError("Le moteur de génération a répondu de façon inattendue.", status=500) from None
        return header, data

    def render(
        self,
        template_bytes: bytes,
        values: dict[str, Any],
        *,
        timeout: float = DEFAULT_TIMEOUT,
        max_bytes: int = DEFAULT_MAX_BYTES,
        with_text: bool = False,
    ) -> RenderResult:
        """Fill a Word model in the worker; the .docx bytes and, if asked, their text."""
        import hashlib

        context = plain_context(values)
        key = hashlib.sha256(template_bytes).hexdigest()
        with self._lock:
            for _attempt in range(2):
                if self._proc is not None and self._proc.poll() is not None:
                    self._stop()  # died between jobs (CPU budget, killed): start afresh
                request = {
                    "key": key, "template": None if key in self._sent else template_bytes,
                    "context": context, "max_bytes": max_bytes, "with_text": with_text,
                }
                header, data = self._exchange(request, timeout=timeout, max_bytes=max_bytes)
                if header.get("status") == "missing":
                    self._sent.discard(key)
                    continue
                self._sent.add(key)
                self._jobs += 1
                cpu = float(header.get("cpu") or 0)
                if header.get("fatal") or self._jobs >= self.max_jobs or cpu + timeout + 1 > self.cpu_budget:
                    self._stop()
                if header.get("status") != "ok":
                    error = header.get("error") or {}
                    raise TemplateError(
                        str(error.get("message") or "La génération a échoué."),
                        tag=error.get("tag"), status=error.get("status"),
                    )
                if len(data) > max_bytes:
                    raise TemplateError(_too_large_message(max_bytes))
                if not zipfile.is_zipfile(io.BytesIO(data)):
                    raise TemplateError("La génération n'a pas produit de document Word valide.", status=500)
                text = header.get("text")
                return RenderResult(
                    data=data, text=text if isinstance(text, str) else None,
                    text_reason=str(header.get("text_reason") or ""),
                )
        raise TemplateError("Le moteur de génération a perdu le modèle : réessayez.", status=500)

    def render_many(
        self,
        template_bytes: bytes,
        values_list: list[dict[str, Any]],
        *,
        timeout: float = DEFAULT_TIMEOUT,
        max_bytes: int = DEFAULT_MAX_BYTES,
        with_text: bool = False,
    ) -> list[RenderResult | TemplateError]:
        """Fill one model with many value sets (the template crosses the pipe once); errors in place."""
        results: list[RenderResult | TemplateError] = []
        for values in values_list:
            try:
                results.append(
                    self.render(template_bytes, values, timeout=timeout, max_bytes=max_bytes, with_text=with_text)
                )
            except TemplateError as exc:
                results.append(exc)
        return results


_SHARED_WORKERS: dict[int, RenderWorker] = {}


def shared_worker() -> RenderWorker:
    """This process's render worker (one per PID, so a forked web worker gets its own)."""
    import atexit

    pid = os.getpid()
    worker = _SHARED_WORKERS.get(pid)
    if worker is None:
        worker = _SHARED_WORKERS[pid] = RenderWorker()
        atexit.register(worker.close)
    return worker
