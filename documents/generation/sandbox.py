"""The Jinja sandbox templates run in: allowlisted filters, functions and methods, bounded output."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from jinja2 import StrictUndefined, Template
from jinja2.exceptions import SecurityError
from jinja2.runtime import LoopContext
from jinja2.sandbox import ImmutableSandboxedEnvironment, safe_range

from documents.formatting import (
    amount_in_words,
    format_amount,
    format_date,
    parse_amount,
    parse_date,
)
from documents.generation.limits import DEFAULT_MAX_BYTES, MAX_REPEAT_LENGTH

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
        except Exception:  # noqa: BLE001 - Jinja's own handler rewrites the traceback to the template line
            self.environment.handle_exception()
        return "".join(parts)
