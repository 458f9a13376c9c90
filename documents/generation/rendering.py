"""Filling a model in the current process (the worker calls this; so do the benchmarks)."""

from __future__ import annotations

import io
import re
import traceback
from typing import Any

from jinja2 import exceptions as jinja_exceptions
from jinja2.exceptions import SecurityError

from documents.generation.analysis import (
    ParsedModel,
    _check_part,
    _check_properties,
    _lines,
    _make_docx_template,
    _tags_on_line,
    _template_parts,
)
from documents.generation.errors import TemplateError
from documents.generation.limits import DEFAULT_MAX_BYTES
from documents.generation.package import _check_package
from documents.generation.sandbox import _OutputTooLarge, _Sandbox

# --------------------------------------------------------------------------- rendering


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
    except Exception as exc:  # noqa: BLE001 - any render failure becomes a French message naming the tag
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
