"""The sandbox's second line, tested on its own: what it refuses when a tag gets past the static check.

``check_template`` refuses most dangerous tags before anything runs; these tests call the
sandbox directly (``from_string``), so they fail if ``is_safe_callable``, ``call_binop`` or
the zip-ratio guard of the package check is weakened, whatever the static check does.
"""

from __future__ import annotations

import io
import os
import random
import zipfile

import docx
import pytest
from jinja2.sandbox import SecurityError, safe_range
from markupsafe import Markup

from documents import ziplimits
from documents.generation import limits
from documents.generation.errors import TemplateError
from documents.generation.package import _MAIN_DOCX, _check_package
from documents.generation.sandbox import _Sandbox


def render(source: str, **context: object) -> str:
    """Render ``source`` in the sandbox with no static check at all."""
    return _Sandbox().from_string(source).render(**context)


# --------------------------------------------------------------------------- is_safe_callable


@pytest.mark.parametrize(
    "call",
    [safe_range, "abc".upper, "abc".strip, "abc".startswith, {"a": 1}.get, {"a": 1}.items],
    ids=["range", "str.upper", "str.strip", "str.startswith", "dict.get", "dict.items"],
)
def test_allowlisted_callables_are_safe(call: object) -> None:
    assert _Sandbox().is_safe_callable(call) is True


@pytest.mark.parametrize(
    "call",
    [
        "abc".ljust,  # output amplification
        "abc".format,  # attribute walk through format fields
        "abc".join,
        {"a": 1}.update,  # mutation
        [1].append,
        str.upper,  # unbound: no owner
        Markup("x").upper,  # a str subclass is not str
        print,
        os.getcwd,
        lambda: None,
        len,
    ],
    ids=["ljust", "format", "join", "dict.update", "list.append", "unbound", "Markup.upper",
         "print", "os.getcwd", "lambda", "len"],
)
def test_other_callables_are_refused(call: object) -> None:
    assert _Sandbox().is_safe_callable(call) is False


def test_a_method_the_static_check_would_catch_is_refused_at_render_too() -> None:
    with pytest.raises(SecurityError):
        render("{{ nom.ljust(10) }}", nom="x")
    with pytest.raises(SecurityError):
        render("{{ d.update(a=2) }}", d={"a": 1})
    assert render("{{ nom.upper() }}", nom="été") == "ÉTÉ"


def test_loop_helpers_are_allowed() -> None:
    out = render("{% for x in range(3) %}{{ loop.cycle('a', 'b') }}{% endfor %}")
    assert out == "aba"


# --------------------------------------------------------------------------- call_binop


def test_string_formatting_with_percent_is_refused() -> None:
    # « {{ nom % 3 }} » passes the static check: only call_binop stops "%999999999s" % x.
    with pytest.raises(SecurityError, match="%"):
        render("{{ nom % 3 }}", nom="%999999999s")
    with pytest.raises(SecurityError, match="%"):
        _Sandbox().call_binop(None, "%", "%s", 3)


def test_percent_between_numbers_still_works() -> None:
    assert render("{{ n % 3 }}", n=10) == "1"


def test_repetition_is_bounded_exactly() -> None:
    assert len(render("{{ '-' * n }}", n=limits.MAX_REPEAT_LENGTH)) == limits.MAX_REPEAT_LENGTH
    with pytest.raises(SecurityError, match="repetition too long"):
        render("{{ '-' * n }}", n=limits.MAX_REPEAT_LENGTH + 1)
    with pytest.raises(SecurityError, match="repetition too long"):
        render("{{ n * items }}", n=limits.MAX_REPEAT_LENGTH, items=[1, 2])


def test_huge_powers_are_refused() -> None:
    assert render("{{ 2 ** 10 }}") == "1024"
    with pytest.raises(SecurityError, match="power too large"):
        render("{{ 10 ** n }}", n=10_000)


def test_percent_tag_passes_the_static_check_and_fails_at_render() -> None:
    from documents import generation as g

    document = docx.Document()
    document.add_paragraph("Objet : {{ nom % 3 }}")
    buffer = io.BytesIO()
    document.save(buffer)
    data = buffer.getvalue()
    assert g.check_template(data).errors == []
    with pytest.raises(TemplateError, match="opération interdite") as caught:
        g._render_in_process(data, {"nom": "%999999999s"})
    assert caught.value.tag == "{{ nom % 3 }}"


# --------------------------------------------------------------------------- zip-ratio guard of templates


def _docx_with_entry(payload: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", _MAIN_DOCX)
        archive.writestr("word/document.xml", "<w:document/>")
        archive.writestr("word/media/image1.png", payload)
    return buffer.getvalue()


def _ratio(data: bytes, name: str) -> float:
    info = zipfile.ZipFile(io.BytesIO(data)).getinfo(name)
    return info.file_size / info.compress_size


def _payload(random_bytes: int) -> bytes:
    """2 MB of zeros but ``random_bytes`` random ones: the random part sets the compressed size."""
    noise = random.Random(7).randbytes(random_bytes)
    return noise + b"\0" * (2 * 1024 * 1024 - random_bytes)


def test_template_entry_just_over_the_ratio_is_refused() -> None:
    data = _docx_with_entry(_payload(16 * 1024))
    # Between the limit and twice the limit: a guard loosened to 200× would let it through.
    assert ziplimits.MAX_RATIO < _ratio(data, "word/media/image1.png") < 2 * ziplimits.MAX_RATIO
    with pytest.raises(TemplateError, match="plus de 100 fois"):
        _check_package(data)


def test_template_entry_under_the_ratio_is_accepted() -> None:
    data = _docx_with_entry(_payload(28 * 1024))
    assert 0.5 * ziplimits.MAX_RATIO < _ratio(data, "word/media/image1.png") < ziplimits.MAX_RATIO
    _check_package(data)  # no error: a picture that compresses ~50× is ordinary
