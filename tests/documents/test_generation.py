"""Word template engine: sandbox, bounds, escaping, upload checks, fields, built-in models.

Every template here is a real .docx built with python-docx; every output is read back
with python-docx (and, when LibreOffice is installed, converted to PDF and read with pypdf).
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import io
import os
import re
import shutil
import subprocess
import time
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import docx
import pytest
from docxtpl import DocxTemplate
from markupsafe import Markup

from documents import generation as g
from documents.formatting import format_amount, format_date, parse_amount, parse_date

TRICKY = 'Dupont & Fils <b> "ok" l\'été\nligne 2'


# --------------------------------------------------------------------------- helpers


def make_docx(*paragraphs: str, runs: list[list[str]] | None = None, header: str | None = None,
              table: list[list[str]] | None = None) -> bytes:
    """A .docx with one paragraph per string, optional multi-run paragraphs, header, table."""
    document = docx.Document()
    for text in paragraphs:
        document.add_paragraph(text)
    for pieces in runs or []:
        para = document.add_paragraph()
        for index, piece in enumerate(pieces):
            run = para.add_run(piece)
            run.bold = index % 2 == 0  # different formatting, as Word splits runs
    if table:
        tbl = document.add_table(rows=0, cols=len(table[0]))
        for cells in table:
            row = tbl.add_row()
            for cell, text in zip(row.cells, cells):
                cell.text = text
    if header is not None:
        document.sections[0].header.paragraphs[0].text = header
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def all_text(data: bytes) -> str:
    """Every visible text of a .docx: body paragraphs, table cells, headers and footers."""
    document = docx.Document(io.BytesIO(data))
    chunks: list[str] = []

    def walk_tables(tables: Any) -> None:
        for tbl in tables:
            for row in tbl.rows:
                for cell in row.cells:
                    chunks.extend(p.text for p in cell.paragraphs)
                    walk_tables(cell.tables)

    chunks.extend(p.text for p in document.paragraphs)
    walk_tables(document.tables)
    for section in document.sections:
        for part in (section.header, section.footer):
            chunks.extend(p.text for p in part.paragraphs)
    return "\n".join(chunks)


def squash(text: str) -> str:
    """Collapse every kind of space and line break, for comparing with wrapped PDF text."""
    return re.sub(r"[\s\u00a0\u202f]+", " ", text).strip()


def expected_strings(fields: list[g.FieldSpec], raw: dict[str, Any]) -> list[str]:
    """What each typed value must look like in the document (dates, amounts as formatted)."""

    def one(spec: g.FieldSpec, value: Any) -> list[str]:
        if value in (None, ""):
            return []
        if spec.type == "date":
            return [format_date(parse_date(str(value)))]
        if spec.type == "montant":
            return [format_amount(parse_amount(str(value)))]
        if spec.type == "entier":
            return [str(int(value))]
        if spec.type == "booléen":
            return []
        return [str(value)]

    found: list[str] = []
    for spec in fields:
        value = raw.get(spec.name)
        if spec.type == "organisation":
            for sub in spec.subfields:
                found += one(sub, (value or {}).get(sub.name))
        elif spec.type == "liste":
            for row in value or []:
                for sub in spec.subfields:
                    found += one(sub, row.get(sub.name))
        elif not spec.computed:
            found += one(spec, value)
    return found


# --------------------------------------------------------------------------- sandbox


ESCAPES = [
    "{{ ''.__class__.__mro__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ self._TemplateReference__context }}",
    "{{ nom.__class__ }}",
    "{{ nom['__class__'] }}",
    "{{ lipsum.__globals__['os'] }}",
    "{{ nom|attr('__class__') }}",
    "{% include 'x.docx' %}",
    "{% autoescape false %}{{ nom }}{% endautoescape %}",
    "{{ 'a'.format(nom) }}",
    "{{ nom.ljust(100) }}",
]


@pytest.mark.parametrize("payload", ESCAPES)
def test_sandbox_escape_refused_at_check_and_render(payload: str) -> None:
    data = make_docx("Convention", payload)
    faulty_tag = re.match(r"\{[{%].*?[}%]\}", payload).group(0)  # type: ignore[union-attr]
    report = g.check_template(data)
    assert not report.ok
    assert report.errors[0].tag == faulty_tag
    assert isinstance(report.errors[0], g.TemplateError)
    with pytest.raises(g.TemplateError) as caught:
        g.render(data, {"nom": "x"})
    assert caught.value.tag == faulty_tag
    assert "interdit" in caught.value.message or "inconnu" in caught.value.message


def test_core_properties_are_checked_too() -> None:
    document = docx.Document()
    document.add_paragraph("{{ nom }}")
    document.core_properties.title = "Convention {{ nom.__class__ }}"
    buffer = io.BytesIO()
    document.save(buffer)
    report = g.check_template(buffer.getvalue())
    assert "accès interdit à « __class__ »" in report.errors[0].message
    with pytest.raises(g.TemplateError, match="__class__"):
        g.render(buffer.getvalue(), {"nom": "x"})


def test_core_property_title_is_rendered_without_html_escaping() -> None:
    document = docx.Document()
    document.add_paragraph("{{ nom }}")
    document.core_properties.title = "Convention {{ nom }}"
    buffer = io.BytesIO()
    document.save(buffer)
    out = g.render(buffer.getvalue(), {"nom": "Dupont & Fils"})
    assert docx.Document(io.BytesIO(out)).core_properties.title == "Convention Dupont & Fils"


def test_escape_payload_is_real_but_nothing_runs_in_our_engine(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    payload = "{{ cycler.__init__.__globals__.os.makedirs('%s') }}" % marker
    data = make_docx(payload)
    # Bare docxtpl (plain Jinja environment) executes it: the payload is a real exploit…
    bare = DocxTemplate(io.BytesIO(data))
    bare.render({})
    assert marker.is_dir()
    marker.rmdir()
    # …our engine refuses it at upload and at render, and nothing is executed.
    # Tags are quoted in messages shortened to 120 characters; tmp_path length varies by runner.
    shown = payload if len(payload) <= 120 else payload[:117] + "…"
    assert g.check_template(data).errors[0].tag == shown
    with pytest.raises(g.TemplateError):
        g.render(data, {})
    assert not marker.exists()


# --------------------------------------------------------------------------- bounds


@pytest.mark.parametrize(
    "body",
    [
        "{{ 'x' * 10**9 }}",
        "{{ [1] * 10**9 }}",
        "{{ 10 ** (10 ** 10) }}",
        "{% for i in range(10**9) %}x{% endfor %}",
    ],
)
def test_huge_strings_and_ranges_stopped_at_once(body: str) -> None:
    start = time.monotonic()
    with pytest.raises(g.TemplateError) as caught:
        g.render(make_docx(body), {}, timeout=5)
    assert time.monotonic() - start < 4
    assert caught.value.tag == re.match(r"\{[{%].*?[}%]\}", body).group(0)  # type: ignore[union-attr]
    assert "modèle" in caught.value.message


def test_endless_loop_stopped_by_wall_clock() -> None:
    body = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
    start = time.monotonic()
    with pytest.raises(g.TemplateError, match="arrêtée après 2 secondes"):
        g.render(make_docx(body), {}, timeout=2)
    assert time.monotonic() - start < 4


def test_output_size_bound() -> None:
    body = "{% for i in range(100000) %}{% for j in range(1000) %}0123456789{% endfor %}{% endfor %}"
    with pytest.raises(g.TemplateError, match="taille maximale"):
        g.render(make_docx(body), {}, max_bytes=2 * 1024 * 1024, timeout=8)


def test_memory_bound_on_string_doubling() -> None:
    # No loop and no "*": each {% set %} doubles a string; the worker's memory limit stops it.
    doubling = "".join(
        "{%% set s%d = s%d ~ s%d %%}" % (i + 1, i, i) for i in range(16)
    )
    body = "{% set s0 = 'x' * 100000 %}" + doubling + "{{ s16|length }}"
    with pytest.raises(g.TemplateError, match="mémoire"):
        g.render(make_docx(body), {}, timeout=8, max_memory=512 * 1024 * 1024)


# --------------------------------------------------------------------------- escaping


def test_special_characters_survive_exactly() -> None:
    data = make_docx(
        "Nom : {{ nom }}",
        table=[["{{ nom }}", "fin"]],
        header="En-tête {{ nom }}",
    )
    out = g.render(data, {"nom": TRICKY})
    document = docx.Document(io.BytesIO(out))
    assert document.paragraphs[0].text == "Nom : " + TRICKY
    assert document.tables[0].cell(0, 0).text == TRICKY
    assert document.sections[0].header.paragraphs[0].text == "En-tête " + TRICKY


def test_line_breaks_are_normalised_and_control_characters_dropped() -> None:
    out = g.render(make_docx("{{ a }}"), {"a": "un\r\ndeux\rtrois\x0bquatre\x00\x07\x0cfin\ttab"})
    assert docx.Document(io.BytesIO(out)).paragraphs[0].text == "un\ndeux\ntrois\nquatrefin\ttab"


def test_markup_value_cannot_inject_xml() -> None:
    injected = Markup('</w:t></w:r><w:r><w:t>INJECTÉ')
    out = g.render(make_docx("{{ a }}"), {"a": injected})
    assert docx.Document(io.BytesIO(out)).paragraphs[0].text == str(injected)


def test_context_refuses_non_plain_values() -> None:
    class Convention:  # stands for an ORM object
        title = "x"

    with pytest.raises(TypeError, match="Convention"):
        g.render(make_docx("{{ c.title }}"), {"c": Convention()})
    with pytest.raises(TypeError):
        g.plain_context({"montant": 1.5})
    assert g.plain_context({"m": Decimal("12.50"), "d": dt.date(2026, 1, 1), "l": [{"k": None}]}) == {
        "m": "12.50",
        "d": dt.date(2026, 1, 1),
        "l": [{"k": ""}],
    }


# --------------------------------------------------------------------------- upload checks


def test_syntax_error_named_at_check_time() -> None:
    report = g.check_template(make_docx("Bonjour {{ region_nom }}", "Montant : {{ montant_total | }}"))
    assert [e.tag for e in report.errors] == ["{{ montant_total | }}"]
    assert "syntaxe" in report.errors[0].message
    with pytest.raises(g.TemplateError):
        report.raise_if_invalid()


def test_unclosed_block_named() -> None:
    report = g.check_template(make_docx("{% for a in annees %}", "{{ a.annee }}"))
    assert report.errors[0].tag == "{% for a in annees %}"
    assert "endfor" in report.errors[0].message


def test_stray_end_tag_named() -> None:
    report = g.check_template(make_docx("{{ nom }}", "{% endif %}"))
    assert report.errors[0].tag == "{% endif %}"


def test_tag_split_across_paragraphs_named() -> None:
    report = g.check_template(make_docx("Région : {{ region", "_nom }} et suite"))
    assert len(report.errors) == 1
    assert report.errors[0].tag == "{{ region ↵ _nom }}"
    assert "paragraphe" in report.errors[0].message


def test_unclosed_tag_named() -> None:
    report = g.check_template(make_docx("Région : {{ region_nom }"))
    assert report.errors[0].tag == "{{ region_nom }"


def test_tag_split_by_formatting_runs_is_joined_by_docxtpl() -> None:
    # Word often splits "{{ region_nom }}" into runs; docxtpl's patching joins them again,
    # so this is not an error and the value lands in place.
    data = make_docx(runs=[["Région : {{ reg", "ion_n", "om }} !"], ["{", "{ annee }", "}"]])
    report = g.check_template(data)
    assert report.ok, [e.message for e in report.errors]
    assert report.fields == ["region_nom", "annee"]
    out = g.render(data, {"region_nom": "Bretagne", "annee": 2026})
    text = all_text(out)
    assert "Région : Bretagne !" in text
    assert "2026" in text


def test_tag_cut_by_word_field_is_named() -> None:
    # A tag whose halves sit on both sides of something docxtpl cannot strip (here the
    # "{{" of a tag in a deleted-text run of Word's track changes) is reported.
    data = make_docx("placeholder")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    xml = files["word/document.xml"].decode("utf-8")
    broken = (
        '<w:p><w:r><w:t xml:space="preserve">Région : {{ regi</w:t></w:r>'
        '<w:del w:id="1" w:author="x"><w:r><w:delText>zz</w:delText></w:r></w:del>'
        '<w:r><w:instrText>on_nom }}</w:instrText></w:r></w:p>'
    )
    xml = re.sub(r"<w:p>.*?placeholder.*?</w:p>", broken, xml, count=1, flags=re.DOTALL)
    files["word/document.xml"] = xml.encode("utf-8")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, blob in files.items():
            archive.writestr(name, blob)
    report = g.check_template(buffer.getvalue())
    assert not report.ok
    assert report.errors[0].tag is not None and report.errors[0].tag.startswith("{{ regi")


def test_unknown_filter_named() -> None:
    report = g.check_template(make_docx("{{ nom|safe }}", "{{ date_effet|date_fr }}"))
    assert [e.tag for e in report.errors] == ["{{ nom|safe }}"]
    assert "filtre inconnu « safe »" in report.errors[0].message


def test_our_filters_work() -> None:
    data = make_docx("{{ d|date_fr }} / {{ m|montant }} / {{ m|en_lettres }} / {{ n|upper }}")
    out = g.render(data, {"d": dt.date(2026, 5, 1), "m": "12500,5", "n": "été"})
    assert docx.Document(io.BytesIO(out)).paragraphs[0].text == (
        "1er mai 2026 / 12\u202f500,50\u00a0€ / douze mille cinq cents euros et cinquante centimes / ÉTÉ")


def _docx_with_content_type(content_type: str, *, extra: dict[str, bytes] | None = None) -> bytes:
    data = make_docx("{{ nom }}")
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for name in src.namelist():
            blob = src.read(name)
            if name == "[Content_Types].xml":
                blob = blob.replace(g._MAIN_DOCX.encode(), content_type.encode())
            dst.writestr(name, blob)
        for name, blob in (extra or {}).items():
            dst.writestr(name, blob)
    return out.getvalue()


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"", "vide"),
        (b"<html><body>pas un docx</body></html>", "n'est pas un document Word"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512, "97-2003"),
        (b"PK\x03\x04tronque", "endommagé"),
        (
            _docx_with_content_type(
                "application/vnd.ms-word.document.macroEnabled.main+xml",
                extra={"word/vbaProject.bin": b"\0" * 64},
            ),
            "macros",
        ),
        (
            _docx_with_content_type(
                "application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml"
            ),
            "modèle .dotx",
        ),
    ],
)
def test_non_docx_refused(data: bytes, fragment: str) -> None:
    report = g.check_template(data)
    assert not report.ok
    assert fragment in report.errors[0].message
    with pytest.raises(g.TemplateError):
        g.render(data, {})


def test_odt_refused() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.text")
        archive.writestr("content.xml", "<office:document-content/>")
    report = g.check_template(buffer.getvalue())
    assert "OpenDocument" in report.errors[0].message


def test_zip_bomb_refused_quickly() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", g._MAIN_DOCX)
        archive.writestr("word/document.xml", b"<a>" + b" " * (150 * 1024 * 1024) + b"</a>")
    start = time.monotonic()
    report = g.check_template(buffer.getvalue())
    assert time.monotonic() - start < 2
    assert "plus de 100 fois (« bombe » de décompression)" in report.errors[0].message


# --------------------------------------------------------------------------- fields


def test_template_fields_and_row_keys() -> None:
    data = make_docx(
        "Convention {{ region_nom }} {{ annee }}",
        "{{ drac.nom }}, {{ drac.representant }}, {{ partenaire.ville }}",
        "{{ montant_total_lettres }}",
        table=[
            ["{%tr for a in annees %}", ""],
            ["{{ a.annee }}", "{{ a.montant }} {{ a.commentaire }}"],
            ["{%tr endfor %}", ""],
        ],
    )
    assert g.template_fields(data) == [
        "region_nom", "annee", "drac", "partenaire", "montant_total_lettres", "annees",
    ]
    report = g.check_template(data)
    assert report.lists == {"annees": ["annee", "montant", "commentaire"]}
    assert report.objects == {"drac": ["nom", "representant"], "partenaire": ["ville"]}

    specs = {s.name: s for s in g.fields_for(data)}
    assert specs["drac"].type == "organisation" and specs["drac"].row_keys == ["nom", "representant"]
    assert specs["partenaire"].type == "organisation" and not specs["partenaire"].required
    assert specs["annees"].row_keys == ["annee", "montant", "commentaire"]
    assert specs["annees"].subfields[1].type == "montant"
    # The companion "montant_total_lettres" asks for the four lines, then computes the total.
    order = list(specs)
    assert order.index("montant_mission_coordination") < order.index("montant_total")
    assert specs["montant_total"].computed
    assert specs["region_nom"].label == "Région" and specs["region_nom"].required
    assert "montant_total_lettres" not in specs


def test_unknown_field_is_optional_text() -> None:
    (spec,) = g.fields_for(make_docx("{{ champ_libre }}"))
    assert (spec.name, spec.type, spec.required) == ("champ_libre", "texte", False)


def test_catalogue_is_complete() -> None:
    catalogue = g.load_catalogue()
    for name in [
        "region", "region_nom", "annee", "drac", "coordination_regionale", "coordination_nationale",
        "signataires", "montant_mission_coordination", "montant_projets_coordination",
        "montant_formation", "montant_sensibilisation", "montant_total", "date_effet",
        "date_echeance", "date_signature", "lieu_signature", "duree_mois", "tacite_reconduction",
        "preavis_mois", "convention_reference", "objectifs",
    ]:
        assert name in catalogue, name
        assert catalogue[name].type in g.FIELD_TYPES
    assert catalogue["drac"].row_keys == ["nom", "adresse", "representant", "qualite"]
    assert [row["lettre"] for row in catalogue["objectifs"].default] == ["A", "B", "C", "D", "E"]


# --------------------------------------------------------------------------- validation


def _convention_fields() -> list[g.FieldSpec]:
    return g.specs_for_names(["montant_total_lettres", "date_effet", "annee", "drac", "annees",
                              "montant_total_contrat", "tacite_reconduction"])


def test_validate_values_parses_formats_and_totals() -> None:
    raw = {
        "montant_mission_coordination": "12 500,50",
        "montant_projets_coordination": "1000",
        "montant_formation": "0,50",
        "montant_sensibilisation": "86 499 €",
        "date_effet": "01/01/2026",
        "annee": "2026",
        "drac.nom": "DRAC Bretagne",
        "drac.adresse": "Rennes",
        "drac.representant": "Mme X",
        "drac.qualite": "Directrice",
        "annees": [{"annee": "2026", "montant": "100"}, {"annee": "", "montant": ""},
                   {"annee": "2027", "montant": "200,25"}],
        "tacite_reconduction": "oui",
    }
    values, errors = g.validate_values(_convention_fields(), raw)
    assert errors == {}
    assert values["montant_total"] == format_amount(Decimal("100000.00"))
    assert values["montant_total_lettres"] == "cent mille euros"
    assert values["montant_formation_lettres"] == "cinquante centimes"
    assert values["date_effet"] == "1er janvier 2026"
    assert values["annee"] == 2026
    assert values["drac"]["nom"] == "DRAC Bretagne"
    assert values["annees"] == [
        {"annee": 2026, "montant": format_amount(Decimal(100)), "montant_lettres": "cent euros"},
        {"annee": 2027, "montant": format_amount(Decimal("200.25")),
         "montant_lettres": "deux cents euros et vingt-cinq centimes"},
    ]
    assert values["montant_total_contrat"] == format_amount(Decimal("300.25"))
    assert values["tacite_reconduction"] is True
    g.plain_context(values)  # what validate_values returns is fit for rendering


def test_validate_values_reports_french_errors_per_field() -> None:
    raw = {
        "montant_mission_coordination": "douze",
        "montant_projets_coordination": "-5",
        "montant_formation": "",
        "montant_sensibilisation": "1",
        "date_effet": "31/02/2026",
        "annee": "1850",
        "drac": {"nom": "DRAC"},
        "annees": [{"annee": "2026", "montant": "x"}],
        "tacite_reconduction": "peut-être",
    }
    values, errors = g.validate_values(_convention_fields(), raw)
    assert set(errors) == {
        "montant_mission_coordination", "montant_projets_coordination", "montant_formation",
        "date_effet", "annee", "drac.adresse", "drac.representant", "drac.qualite",
        "annees[0].montant", "tacite_reconduction",
    }
    assert "Montant invalide" in errors["montant_mission_coordination"]
    assert "négatif" in errors["montant_projets_coordination"]
    assert "obligatoire" in errors["montant_formation"]
    assert "n'existe pas" in errors["date_effet"]
    assert "au moins 2000" in errors["annee"]
    assert "oui ou non" in errors["tacite_reconduction"]
    assert values["montant_total"] == ""  # no total from wrong lines


def test_required_list_needs_a_row() -> None:
    spec = g.load_catalogue()["presents"]
    _values, errors = g.validate_values([spec], {"presents": [{"nom": "", "qualite": ""}]})
    assert "au moins une ligne" in errors["presents"]


# --------------------------------------------------------------------------- built-in models


@pytest.fixture(scope="module")
def rendered_models() -> dict[str, tuple[bytes, list[str]]]:
    """Each built-in model rendered with the catalogue examples (one tricky text value)."""
    results: dict[str, tuple[bytes, list[str]]] = {}
    for model in g.BUILTIN_MODELS:
        data = model.read_bytes()
        fields = g.fields_for(data)
        raw = g.sample_values(fields)
        # Put the tricky value in the first free-text field of each model.
        first_text = next(s for s in fields if s.type == "texte" and not s.computed)
        raw[first_text.name] = TRICKY.replace("\n", " – ") if first_text.name.endswith("nom") else TRICKY
        values, errors = g.validate_values(fields, raw)
        assert errors == {}, (model.slug, errors)
        expected = expected_strings(fields, raw)
        for spec in fields:
            if spec.type == "montant":
                expected.append(values[spec.name])
        results[model.slug] = (g.render(data, values), expected)
    return results


def test_builtin_registry() -> None:
    assert [m.slug for m in g.BUILTIN_MODELS] == [
        "convention-drac-coordination", "avenant", "contrat-objectifs",
        "convention-cadre-signataires", "compte-rendu-comite",
    ]
    assert {m.doc_type for m in g.BUILTIN_MODELS} == {
        "convention", "avenant", "contrat_objectifs", "protocole", "compte_rendu",
    }
    for model in g.BUILTIN_MODELS:
        assert model.path.is_file()
        assert g.check_template(model.read_bytes()).ok
    assert g.builtin_model("avenant").doc_type == "avenant"
    with pytest.raises(g.TemplateError):
        g.builtin_model("inconnu")


@pytest.mark.parametrize("slug", [m.slug for m in g.BUILTIN_MODELS])
def test_builtin_model_renders_every_value(slug: str, rendered_models: dict[str, tuple[bytes, list[str]]]) -> None:
    out, expected = rendered_models[slug]
    text = all_text(out)
    assert "{{" not in text and "{%" not in text and "}}" not in text and "%}" not in text
    missing = [value for value in expected if value not in text]
    assert not missing
    assert len(expected) >= 8


def test_convention_shows_total_in_words(rendered_models: dict[str, tuple[bytes, list[str]]]) -> None:
    out, _ = rendered_models["convention-drac-coordination"]
    text = all_text(out)
    # 18 000 + 9 500 + 4 250,50 + 3 000 (catalogue examples)
    assert format_amount(Decimal("34750.50")) in text
    assert "trente-quatre mille sept cent cinquante euros et cinquante centimes" in text
    assert "26 octobre 2009" in text
    for mission in ("Un interlocuteur régional", "Une tête de réseau", "Évaluation"):
        assert mission in text


def test_worker_reusing_a_parsed_model_gives_the_same_bytes_as_a_fresh_render() -> None:
    """The long-lived worker keeps each model parsed; a render must not see the previous one's values."""
    with g.RenderWorker() as worker:
        for model in g.BUILTIN_MODELS:
            data = model.read_bytes()
            fields = g.fields_for(data)
            first = g.sample_values(fields)
            second = dict(first)
            name = next(s.name for s in fields if s.type == "texte" and not s.computed)
            second[name] = TRICKY
            for raw in (first, second, first):
                values, errors = g.validate_values(fields, raw)
                assert errors == {}, (model.slug, errors)
                cached = worker.render(data, values).data
                assert cached == g.render(data, values), model.slug


def test_models_are_deterministic_and_up_to_date(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location(
        "build_models_script", Path(__file__).resolve().parents[2] / "scripts" / "build_models.py"
    )
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    first, second = script.build_all(), script.build_all()
    assert first == second
    assert script.main(["--check"]) == 0
    assert script.main([], out_dir=tmp_path) == 0
    assert script.main(["--check"], out_dir=tmp_path) == 0
    (tmp_path / "avenant.docx").write_bytes(b"changed")
    assert script.main(["--check"], out_dir=tmp_path) == 1


# --------------------------------------------------------------------------- PDF through LibreOffice


@pytest.fixture(scope="module")
def pdf_texts(rendered_models: dict[str, tuple[bytes, list[str]]], tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    soffice = shutil.which("soffice")
    if soffice is None:
        pytest.skip("LibreOffice (soffice) n'est pas installé")
    from pypdf import PdfReader

    work = tmp_path_factory.mktemp("pdf")
    for slug, (out, _) in rendered_models.items():
        (work / f"{slug}.docx").write_bytes(out)
    env = {**os.environ, "HOME": str(work / "home")}
    subprocess.run(
        [soffice, f"-env:UserInstallation=file://{work / 'profile'}", "--headless",
         "--convert-to", "pdf", "--outdir", str(work), *sorted(str(p) for p in work.glob("*.docx"))],
        check=True, capture_output=True, timeout=180, env=env,
    )
    texts = {}
    for slug in rendered_models:
        reader = PdfReader(str(work / f"{slug}.pdf"))
        texts[slug] = "\n".join(page.extract_text() or "" for page in reader.pages)
    return texts


@pytest.mark.slow
@pytest.mark.parametrize("slug", [m.slug for m in g.BUILTIN_MODELS])
def test_builtin_model_pdf_text(slug: str, pdf_texts: dict[str, str],
                                rendered_models: dict[str, tuple[bytes, list[str]]]) -> None:
    text = squash(pdf_texts[slug])
    assert "{{" not in text and "{%" not in text
    _, expected = rendered_models[slug]
    missing = [value for value in expected if squash(value) not in text]
    assert not missing
    assert "Dupont & Fils <b> \"ok\" l'été" in text
