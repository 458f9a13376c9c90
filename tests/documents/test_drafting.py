"""documents.drafting: models in the archive, fields, prefill, generation, provenance, batch, PDF.

Real parts only: the migrated test database (SQLite, and PostgreSQL with TEST_DATABASE_URL),
a LocalStorage in tmp_path, the real render worker, python-docx to read the output and,
when LibreOffice is installed, soffice + pypdf for the PDF check.
"""

from __future__ import annotations

import io
import re
import shutil
import zipfile
from pathlib import Path
from typing import Any

import docx
import pytest
from sqlalchemy import func, select

import testkit
from documents import drafting, generation
from documents.errors import NotFound, PermissionDenied, ValidationError
from documents.formatting import format_amount, format_date, parse_amount, parse_date
from documents.models import (
    AuditEvent,
    Document,
    DocumentVersion,
    DraftingTemplate,
    Generation,
    IndexOutbox,
    Organisation,
)
from documents.storage import LocalStorage
from testkit import AMOUNTS, docx_text, fill_organisations
from testkit import template_docx as make_docx

TRICKY = 'Dupont & Fils <b> "ok" l\'été'


# --------------------------------------------------------------------------- helpers




@pytest.fixture
def store(tmp_path: Path) -> LocalStorage:
    return LocalStorage(tmp_path / "files")


@pytest.fixture
def loaded(db_session: Any, store: LocalStorage) -> Any:
    """The test database with the built-in models filed and a complete référentiel."""
    drafting.load_builtin_models(db_session, store)
    fill_organisations(db_session)
    return db_session


def convention(session: Any, store: LocalStorage) -> drafting.TemplateInfo:
    return drafting.get_template(session, store, "convention-drac-coordination")


def convention_raw(session: Any, store: LocalStorage, region: str = "11", year: int = 2026,
                   **changes: Any) -> dict[str, Any]:
    raw = drafting.prefill(session, convention(session, store), region, year)
    raw.update(AMOUNTS)
    raw.update(changes)
    return raw


# --------------------------------------------------------------------------- built-in models


def test_builtin_models_filed_as_national_signed_modeles(loaded: Any, store: LocalStorage) -> None:
    templates = drafting.list_templates(loaded, store)
    assert [t.slug for t in templates if t.builtin] == sorted(
        [m.slug for m in generation.BUILTIN_MODELS],
        key=lambda s: next(m.title for m in generation.BUILTIN_MODELS if m.slug == s),
    )
    for model in generation.BUILTIN_MODELS:
        info = drafting.get_template(loaded, store, model.slug)
        assert info.document.doc_type == "modele"
        assert info.document.region_code is None
        assert info.document.status == "signe"
        assert info.output_type == model.doc_type
        assert len(info.document.versions) == 1
        assert drafting.read_bytes(store, info.version) == model.read_bytes()
        assert info.version.origin["slug"] == model.slug
        assert info.analysis["variables"]  # fields stored with the version
    assert drafting.get_template(loaded, store, templates[0].id).slug == templates[0].slug


def test_load_builtin_models_is_idempotent_and_a_new_build_is_a_new_version(
        loaded: Any, store: LocalStorage, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert set(drafting.load_builtin_models(loaded, store).values()) == {"inchangé"}
    assert loaded.scalar(select(func.count()).select_from(DraftingTemplate)) == 5
    # A new build of one model: same slugs, the avenant's bytes changed.
    build = tmp_path / "build"
    build.mkdir()
    for model in generation.BUILTIN_MODELS:
        shutil.copy(model.path, build / model.path.name)
    document = docx.Document(str(build / "avenant.docx"))
    document.add_paragraph("Paragraphe ajouté par la nouvelle version du modèle.")
    document.save(str(build / "avenant.docx"))
    monkeypatch.setattr(generation.builtin, "MODELS_DIR", build)
    outcome = drafting.load_builtin_models(loaded, store)
    assert outcome["avenant"] == "nouvelle version"
    assert [s for s, state in outcome.items() if state != "inchangé"] == ["avenant"]
    avenant = drafting.get_template(loaded, store, "avenant")
    assert [v.number for v in avenant.document.versions] == [1, 2]
    assert "Paragraphe ajouté" in docx_text(drafting.read_bytes(store, avenant.version))
    assert loaded.scalar(select(func.count()).select_from(DraftingTemplate)) == 5


# ------------------------------------------------ upload: admins only, escapes refused, errors name the faulty tag


def test_only_admins_upload_templates(loaded: Any, store: LocalStorage) -> None:
    for who in ("national", "idf", "lecteur"):
        with pytest.raises(PermissionDenied):
            drafting.upload_template(loaded, store, actor=testkit.user(loaded, who), data=make_docx("{{ nom }}"),
                                     filename="m.docx", title="Modèle", output_type="convention")
    assert loaded.scalar(select(func.count()).select_from(DraftingTemplate)) == 5


@pytest.mark.parametrize(("paragraphs", "tag"), [
    (("Montant : {{ montant_total | }}",), "{{ montant_total | }}"),
    (("Région : {{ region", "_nom }} et suite"), None),
    (("{{ nom | majuscules }}",), "{{ nom | majuscules }}"),
    (("{{ ''.__class__.__mro__ }}",), "{{ ''.__class__.__mro__ }}"),
    (("{% for a in annees %}", "{{ a.annee }}"), "{% for a in annees %}"),
])
def test_faulty_templates_refused_at_upload_naming_the_tag(
        loaded: Any, store: LocalStorage, paragraphs: tuple[str, ...], tag: str | None) -> None:
    admin = testkit.user(loaded, "admin")
    before = loaded.scalar(select(func.count()).select_from(Document))
    with pytest.raises(drafting.TemplateRejected) as caught:
        drafting.upload_template(loaded, store, actor=admin, data=make_docx(*paragraphs), filename="faux.docx",
                                 title="Faux", output_type="convention")
    problems = caught.value.problems
    assert problems and caught.value.status == 422
    if tag is not None:
        assert problems[0].tag == tag
        assert tag in caught.value.message
    else:  # split tag: the message quotes both halves
        assert "{{ region" in problems[0].message and "_nom }}" in problems[0].message
    assert loaded.scalar(select(func.count()).select_from(Document)) == before
    refused = loaded.scalars(select(AuditEvent).where(AuditEvent.action == "drafting.template_upload")).all()
    assert refused and refused[-1].outcome == "refused"


def test_upload_files_a_modele_with_fields_and_new_versions(loaded: Any, store: LocalStorage) -> None:
    admin = testkit.user(loaded, "admin")
    data = make_docx("Bilan de {{ region_nom }} pour {{ annee }}", "Montant : {{ montant_formation }}",
                     "Note : {{ note_libre }}")
    info = drafting.upload_template(loaded, store, actor=admin, data=data, filename="bilan.docx",
                                    title="Bilan régional", output_type="bilan", description="Essai")
    assert info.slug == "bilan-regional" and not info.builtin and info.output_type == "bilan"
    assert info.document.doc_type == "modele" and info.document.status == "signe"
    fields = drafting.template_fields(loaded, info)
    assert [f.name for f in fields] == ["region_nom", "annee", "montant_formation", "note_libre"]
    assert fields[2].type == "montant" and fields[3].type == "texte" and not fields[3].required
    again = drafting.upload_template(loaded, store, actor=admin, data=make_docx("{{ note_libre }} v2"),
                                     filename="bilan.docx", title="", output_type="bilan", template_id=info.id)
    assert again.version.number == 2
    assert [f.name for f in drafting.template_fields(loaded, again)] == ["note_libre"]
    second = drafting.upload_template(loaded, store, actor=admin, data=make_docx("{{ annee }} autre"),
                                      filename="b.docx", title="Bilan régional", output_type="bilan")
    assert second.slug == "bilan-regional-2"


# --------------------------------------------------------------------------- fields


def test_admin_overrides_label_type_required_default(loaded: Any, store: LocalStorage) -> None:
    tpl = convention(loaded, store)
    spec = next(f for f in drafting.template_fields(loaded, tpl) if f.name == "lieu_signature")
    with pytest.raises(PermissionDenied):
        drafting.set_field_override(loaded, actor=testkit.user(loaded, "national"), spec=spec, label="X",
                                    type="texte", required=False, default="")
    drafting.set_field_override(loaded, actor=testkit.user(loaded, "admin"), spec=spec, label="Ville de signature",
                                type="texte", required=False, default="Lyon")
    changed = next(f for f in drafting.template_fields(loaded, tpl) if f.name == "lieu_signature")
    assert (changed.label, changed.required, changed.default) == ("Ville de signature", False, "Lyon")
    # The same field of another model changes too (it is the catalogue).
    avenant = drafting.get_template(loaded, store, "avenant")
    assert next(f for f in drafting.template_fields(loaded, avenant) if f.name == "lieu_signature").label == \
        "Ville de signature"
    amount = next(f for f in drafting.template_fields(loaded, tpl) if f.name == "montant_formation")
    with pytest.raises(ValidationError) as caught:
        drafting.set_field_override(loaded, actor=testkit.user(loaded, "admin"), spec=amount, label="Formation",
                                    type="montant", required=True, default="beaucoup")
    assert "default" in caught.value.errors
    drac = next(f for f in drafting.template_fields(loaded, tpl) if f.name == "drac")
    with pytest.raises(ValidationError) as caught:
        drafting.set_field_override(loaded, actor=testkit.user(loaded, "admin"), spec=drac, label="DRAC",
                                    type="texte", required=True, default="")
    assert "type" in caught.value.errors


# --------------------------------------------------------------------------- prefill


def test_prefill_from_reference_data(loaded: Any, store: LocalStorage) -> None:
    raw = drafting.prefill(loaded, convention(loaded, store), "93", 2026)
    drac = loaded.scalar(select(Organisation).where(Organisation.kind == "drac", Organisation.region_code == "93"))
    coordination = loaded.scalar(select(Organisation).where(Organisation.kind == "coordination_regionale",
                                                            Organisation.region_code == "93"))
    assert raw["drac"] == {"nom": drac.name, "adresse": drac.address, "representant": drac.representative,
                           "qualite": drac.representative_title}
    assert raw["coordination_regionale"]["nom"] == coordination.name
    assert raw["region_nom"] == "Provence-Alpes-Côte d'Azur"
    assert raw["annee"] == "2026" and raw["date_effet"] == "2026-01-01"
    assert raw["lieu_signature"] == "Paris"  # the DRAC's city, from its address
    signatories = drafting.prefill(loaded, drafting.get_template(loaded, store, "convention-cadre-signataires"),
                                   None, 2026)["signataires"]
    assert len(signatories) == 5 and signatories[0]["representant"]


def test_prefill_reuses_last_years_values(loaded: Any, store: LocalStorage) -> None:
    tpl = convention(loaded, store)
    admin = testkit.user(loaded, "admin")
    drafting.generate_draft(loaded, store, actor=admin, template=tpl, region_code="11", year=2025,
                            raw=convention_raw(loaded, store, year=2025, lieu_signature="Versailles"))
    raw = drafting.prefill(loaded, tpl, "11", 2026)
    assert raw["montant_mission_coordination"] == "12 500"
    assert raw["lieu_signature"] == "Versailles"
    assert raw["date_effet"] == "2026-01-01" and raw["date_echeance"] == "2026-12-31"
    assert raw["annee"] == "2026"
    assert "montant_mission_coordination" not in drafting.prefill(loaded, tpl, "93", 2026)


# --------------------------------------------------------------------------- generation


def test_generate_files_a_brouillon_with_provenance(loaded: Any, store: LocalStorage) -> None:
    tpl = convention(loaded, store)
    idf = testkit.user(loaded, "idf")
    raw = convention_raw(loaded, store, lieu_signature=TRICKY)
    raw["coordination_regionale"]["representant"] = "Monsieur Élie « Ça » O'Brien\nligne 2"
    draft = drafting.generate_draft(loaded, store, actor=idf, template=tpl, raw=raw, region_code="11", year=2026)
    doc = draft.document
    assert (doc.doc_type, doc.status, doc.region_code, doc.year) == ("convention", "brouillon", "11", 2026)
    assert doc.title == "Convention annuelle DRAC – coordination régionale – Île-de-France – 2026"
    assert {p.kind for p in doc.parties} >= {"drac", "coordination_regionale"}
    assert str(doc.effective_date) == "2026-01-01" and str(doc.end_date) == "2026-12-31"
    row = draft.generation
    assert (row.template_document_id, row.template_version, row.template_slug) == (tpl.id, 1, tpl.slug)
    assert row.input_values == raw  # the exact values typed
    assert draft.version.origin["values"] == raw and draft.version.origin["template_version"] == 1
    assert draft.version.filename == "convention-drac-coordination-11-ile-de-france-2026.docx"
    # Text for the index comes from the worker; the outbox has the document.
    assert draft.version.text_status == "ok" and "Île-de-France" in draft.version.text
    assert loaded.scalar(select(func.count()).select_from(IndexOutbox).where(IndexOutbox.object_id == doc.id)) == 1
    # Values survive exactly; totals and words are computed.
    text = docx_text(drafting.read_bytes(store, draft.version))
    assert TRICKY in text
    assert "Monsieur Élie « Ça » O'Brien" in text and "ligne 2" in text
    total = sum(parse_amount(v) for v in AMOUNTS.values())
    assert format_amount(total) in text
    assert "vingt-cinq mille euros" in text
    assert format_date(parse_date("2026-12-31")) in text
    assert "{{" not in text and "{%" not in text
    actions = set(loaded.scalars(select(AuditEvent.action).where(AuditEvent.object_id == str(doc.id))))
    assert {"document.upload", "drafting.generate"} <= actions


def test_invalid_values_give_errors_per_field_and_file_nothing(loaded: Any, store: LocalStorage) -> None:
    before = loaded.scalar(select(func.count()).select_from(Document))
    raw = convention_raw(loaded, store, montant_formation="douze", date_effet="31/02/2026")
    raw["drac"]["representant"] = ""
    with pytest.raises(drafting.ValuesInvalid) as caught:
        drafting.generate_draft(loaded, store, actor=testkit.user(loaded, "admin"),
                                template=convention(loaded, store), raw=raw, region_code="11", year=2026)
    errors = caught.value.errors
    assert set(errors) == {"montant_formation", "date_effet", "drac.representant"}
    assert "douze" in errors["montant_formation"] and "obligatoire" in errors["drac.representant"]
    assert caught.value.status == 422
    assert loaded.scalar(select(func.count()).select_from(Document)) == before


def test_regional_user_drafts_only_for_their_region(loaded: Any, store: LocalStorage) -> None:
    before = loaded.scalar(select(func.count()).select_from(Document))
    with pytest.raises(PermissionDenied):
        drafting.generate_draft(loaded, store, actor=testkit.user(loaded, "paca"), template=convention(loaded, store),
                                raw=convention_raw(loaded, store), region_code="11", year=2026)
    with pytest.raises(PermissionDenied):
        drafting.generate_draft(loaded, store, actor=testkit.user(loaded, "lecteur_idf"),
                                template=convention(loaded, store), raw=convention_raw(loaded, store),
                                region_code="11", year=2026)
    assert loaded.scalar(select(func.count()).select_from(Document)) == before


def test_regenerate_makes_a_new_version_with_its_provenance(loaded: Any, store: LocalStorage) -> None:
    tpl = convention(loaded, store)
    idf = testkit.user(loaded, "idf")
    raw = convention_raw(loaded, store)
    first = drafting.generate_draft(loaded, store, actor=idf, template=tpl, raw=raw, region_code="11", year=2026)
    raw2 = {**raw, "montant_formation": "4 000"}
    second = drafting.regenerate(loaded, store, actor=idf, document_id=first.document.id, raw=raw2)
    assert second.document.id == first.document.id and second.version.number == 2
    rows = loaded.scalars(select(Generation).where(Generation.document_id == first.document.id)
                          .order_by(Generation.version_number)).all()
    assert [(r.version_number, r.input_values["montant_formation"]) for r in rows] == [(1, "3000"), (2, "4 000")]
    assert format_amount(parse_amount("4000")) in docx_text(drafting.read_bytes(store, second.version))
    with pytest.raises(drafting.DraftingError) as caught:
        drafting.regenerate(loaded, store, actor=idf, document_id=first.document.id, raw=raw2)
    assert caught.value.status == 409
    with pytest.raises(NotFound):  # another region's draft does not exist for them
        drafting.regenerate(loaded, store, actor=testkit.user(loaded, "paca"), document_id=first.document.id,
                            raw={**raw, "montant_formation": "5"})
    versions = loaded.scalar(select(func.count()).select_from(DocumentVersion)
                             .where(DocumentVersion.document_id == first.document.id))
    assert versions == 2


def test_identical_draft_is_reported_not_duplicated(loaded: Any, store: LocalStorage) -> None:
    tpl, admin = convention(loaded, store), testkit.user(loaded, "admin")
    raw = convention_raw(loaded, store)
    first = drafting.generate_draft(loaded, store, actor=admin, template=tpl, raw=raw, region_code="11", year=2026)
    with pytest.raises(drafting.DraftingError) as caught:
        drafting.generate_draft(loaded, store, actor=admin, template=tpl, raw=raw, region_code="11", year=2026)
    assert caught.value.status == 409 and f"n° {first.document.id}" in caught.value.message


def test_storage_failure_while_filing_a_draft_leaves_no_row(loaded: Any, store: LocalStorage,
                                                             tmp_path: Path) -> None:
    """A draft's file is written beside its rows: if the store fails, the transaction is rolled back."""
    from documents.storage import StorageError

    class FullDisk(LocalStorage):
        def put_file(self, path: Path, sha256: str) -> None:
            raise StorageError("Impossible d'enregistrer le fichier (No space left on device).")

    full = FullDisk(store.root)
    tpl, admin = convention(loaded, store), testkit.user(loaded, "admin")
    documents = loaded.scalar(select(func.count()).select_from(Document))
    versions = loaded.scalar(select(func.count()).select_from(DocumentVersion))
    generations = loaded.scalar(select(func.count()).select_from(Generation))
    with pytest.raises(StorageError, match="No space left"):
        drafting.generate_draft(loaded, full, actor=admin, template=tpl, raw=convention_raw(loaded, store),
                                region_code="11", year=2026)
    assert loaded.scalar(select(func.count()).select_from(Document)) == documents
    assert loaded.scalar(select(func.count()).select_from(DocumentVersion)) == versions
    assert loaded.scalar(select(func.count()).select_from(Generation)) == generations
    # The same values file normally once the store works again.
    draft = drafting.generate_draft(loaded, store, actor=admin, template=tpl, raw=convention_raw(loaded, store),
                                    region_code="11", year=2026)
    assert store.exists(draft.version.sha256)


# --------------------------------------------------------------------------- batch


def test_batch_files_each_region_and_reports_failures(loaded: Any, store: LocalStorage, tmp_path: Path) -> None:
    tpl = convention(loaded, store)
    seen: list[tuple[int, int]] = []
    rows = {"11": dict(AMOUNTS), "93": {**AMOUNTS, "montant_formation": "mille"}, "53": dict(AMOUNTS, montant_formation="1")}
    result = drafting.generate_batch(
        loaded, store, actor=testkit.user(loaded, "national"), template=tpl, year=2026,
        out_path=tmp_path / "lot.zip", region_codes=["11", "93", "53"], rows=rows,
        progress=lambda done, total, _name: seen.append((done, total)),
    )
    assert [o.region_code for o in result.produced] == ["11", "53"]
    assert [(o.region_code, o.status, list(o.errors)) for o in result.skipped] == [
        ("93", "invalide", ["montant_formation"])]
    assert seen[0] == (0, 3) and seen[-1] == (3, 3)
    with zipfile.ZipFile(result.zip_path) as bundle:
        names = sorted(bundle.namelist())
        assert names == sorted([o.filename for o in result.produced] + ["rapport.txt"])
        report = bundle.read("rapport.txt").decode("utf-8")
        assert "93 Provence-Alpes-Côte d'Azur : invalide" in report
        text = docx_text(bundle.read(result.produced[1].filename))
        assert "Bretagne" in text and format_amount(parse_amount("1")) in text
    for outcome in result.produced:
        doc = loaded.get(Document, outcome.document_id)
        assert doc.status == "brouillon" and doc.region_code == outcome.region_code


def test_batch_refuses_regions_of_others(loaded: Any, store: LocalStorage, tmp_path: Path) -> None:
    result = drafting.generate_batch(
        loaded, store, actor=testkit.user(loaded, "idf"), template=convention(loaded, store), year=2026,
        out_path=tmp_path / "lot.zip", region_codes=["11", "93"], rows={"11": AMOUNTS, "93": AMOUNTS},
    )
    assert [o.region_code for o in result.produced] == ["11"]
    assert [(o.region_code, o.status) for o in result.skipped] == [("93", "refusé")]


def test_batch_job_records_progress_and_report(loaded: Any, store: LocalStorage, tmp_path: Path) -> None:
    tpl = convention(loaded, store)
    national = testkit.user(loaded, "national")
    batch = drafting.start_batch(loaded, actor=national, template=tpl, year=2026, region_codes=["11", "21"],
                                 common={}, rows={"11": AMOUNTS, "21": {}})
    assert batch.status == "en_attente" and batch.total == 2
    done = drafting.run_batch(loaded, store, batch.id, tmp_path / "lots")
    assert done.status == "termine" and done.done == 2
    assert [(r["region_code"], r["status"]) for r in done.report] == [("11", "ok"), ("21", "invalide")]
    assert drafting.batch_zip_path(tmp_path / "lots", done).is_file()
    assert drafting.get_batch(loaded, national, batch.id).id == batch.id
    with pytest.raises(NotFound):
        drafting.get_batch(loaded, testkit.user(loaded, "idf"), batch.id)
    with pytest.raises(PermissionDenied):
        drafting.start_batch(loaded, actor=testkit.user(loaded, "idf"), template=tpl, year=2026,
                             region_codes=["93"], common={}, rows={})


def test_values_csv(loaded: Any, store: LocalStorage) -> None:
    fields = drafting.template_fields(loaded, convention(loaded, store))
    data = ("\ufeffregion;Mission de coordination régionale;montant_formation;drac.representant\n"
            "11;12 500,00;3 000;Madame A\n93;1000;2;\n;;;\n").encode("utf-8")
    rows = drafting.parse_values_csv(data, fields)
    assert rows == {
        "11": {"montant_mission_coordination": "12 500,00", "montant_formation": "3 000",
               "drac": {"representant": "Madame A"}},
        "93": {"montant_mission_coordination": "1000", "montant_formation": "2", "drac": {"representant": ""}},
    }
    with pytest.raises(ValidationError) as caught:
        drafting.parse_values_csv(b"region,inconnu\n11,1\n", fields)
    assert "inconnu" in caught.value.message
    with pytest.raises(ValidationError):
        drafting.parse_values_csv(b"montant_formation\n1\n", fields)


# --------------------------------------------------------------------------- the reusable render worker


def test_worker_renders_like_a_fresh_process_and_survives_a_runaway_job() -> None:
    model = generation.builtin_model("avenant")
    data = model.read_bytes()
    fields = generation.fields_for(data)
    values, errors = generation.validate_values(fields, generation.sample_values(fields))
    assert not errors
    with generation.RenderWorker() as worker:
        first = worker.render(data, values, with_text=True)
        assert first.data == generation.render(data, values)
        pid = worker.pid
        assert worker.render(data, values).data == first.data
        assert worker.pid == pid and worker.starts == 1  # one process for many jobs
        assert first.text is not None and values["convention_reference"] in first.text
        # An endless loop is stopped by the wall clock; the next job gets a new worker.
        endless = make_docx("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}")
        with pytest.raises(generation.TemplateError) as caught:
            worker.render(endless, {}, timeout=2)
        assert "2 secondes" in caught.value.message
        assert worker.render(data, values).data == first.data and worker.starts == 2
        # An escape attempt is refused, nothing runs; the worker stays usable.
        with pytest.raises(generation.TemplateError) as caught:
            worker.render(make_docx("{{ ''.__class__.__mro__ }}"), {})
        assert "__class__" in (caught.value.tag or "")
        huge = make_docx("{% for i in range(100000) %}{{ 'x' * 90000 }}{% endfor %}")
        with pytest.raises(generation.TemplateError) as caught:
            worker.render(huge, {}, max_bytes=2 * 1024 * 1024, timeout=8)
        assert "taille maximale" in caught.value.message or "boucle" in caught.value.message
        many = worker.render_many(data, [values, {}])
        assert isinstance(many[0], generation.RenderResult) and isinstance(many[1], generation.TemplateError)


# --------------------------------------------------------------------------- quality: PDF of every model


def _model_raw(session: Any, store: LocalStorage, info: drafting.TemplateInfo) -> dict[str, Any]:
    fields = drafting.template_fields(session, info)
    raw = generation.sample_values(fields)
    raw.update({k: v for k, v in drafting.prefill(session, info, "11", 2026).items()
                if k in ("region", "region_nom", "drac", "coordination_regionale")})
    first_text = next(s for s in fields if s.type == "texte" and not s.computed and s.name != "region_nom")
    raw[first_text.name] = TRICKY
    return raw


def _expected(fields: list[generation.FieldSpec], values: dict[str, Any]) -> list[str]:
    found: list[str] = []
    for spec in fields:
        value = values.get(spec.name)
        if spec.type == "organisation":
            found += [str(v) for v in (value or {}).values() if v]
        elif spec.type == "liste":
            for row in value or []:  # the typed columns (not the "_lettres" companions)
                cells = [row.get(sub.name) for sub in spec.subfields] if isinstance(row, dict) else [row]
                found += [str(v) for v in cells if v]
        elif spec.type != "booléen" and value not in (None, ""):
            found.append(str(value))
    return found


def squash(text: str) -> str:
    return re.sub(r"[\s\u00a0\u202f]+", " ", text).strip()


@pytest.mark.slow
def test_every_builtin_model_generated_and_converted_to_pdf(loaded: Any, store: LocalStorage) -> None:
    if shutil.which("soffice") is None:
        pytest.skip("LibreOffice (soffice) n'est pas installé")
    from pypdf import PdfReader

    admin = testkit.user(loaded, "admin")
    for model in generation.BUILTIN_MODELS:
        info = drafting.get_template(loaded, store, model.slug)
        raw = _model_raw(loaded, store, info)
        region = "11" if "region" in info.analysis["variables"] or "drac" in info.analysis["variables"] else None
        draft = drafting.generate_draft(loaded, store, actor=admin, template=info, raw=raw, region_code=region,
                                        year=2026)
        pdf = drafting.convert_to_pdf(drafting.read_bytes(store, draft.version))
        text = squash("\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages))
        assert "{{" not in text and "{%" not in text, model.slug
        expected = _expected(drafting.template_fields(loaded, info), draft.values)
        assert len(expected) >= 8, model.slug
        missing = [v for v in expected if squash(v) not in text]
        assert not missing, (model.slug, missing)
        assert squash(TRICKY) in text, model.slug
        assert "é" in text and "à" in text
