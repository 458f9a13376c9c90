"""What a user typed turned into plain template values (validated, formatted in French)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from decimal import Decimal
from typing import Any

from documents.formatting import (
    amount_in_words,
    format_amount,
    format_date,
    parse_amount,
    parse_date,
)
from documents.generation.catalogue import FieldSpec
from documents.generation.limits import MAX_TEXT_LENGTH

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
