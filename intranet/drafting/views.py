"""Views of the drafting blueprint (/modeles): models, fields, generation, drafts, batches.

Thin views: parse the form, call a ``documents.drafting`` verb, render or redirect. Every
draft route goes through ``archive.get_document`` (another region's draft is a logged 404);
generation for a region needs write rights on it; only administrators upload models and
edit fields (403, logged).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import (
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import login_required

from documents import drafting, permissions
from documents.archive import record_access
from documents.errors import NotFound, ValidationError
from documents.models import Generation, Region
from documents.regions import current_regions
from documents.unitofwork import commit, unit_of_work
from intranet.drafting import bp
from intranet.drafting.forms import (
    FieldForm,
    TemplateUploadForm,
    TemplateVersionForm,
    input_id,
    list_text,
    raw_from_form,
    rows_for_display,
)
from intranet.extensions import db, storage
from intranet.forms import show_errors
from intranet.web import admin_required, client_ip, current_actor, deny, deny_document, writer_required


def _data_dir(name: str) -> Path:
    path = Path(current_app.config["DATA_DIR"]) / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def rendition_dir() -> Path:
    """Folder of the PDF renditions (derived files, outside the archive's store)."""
    return _data_dir("rendus")


def batch_dir() -> Path:
    """Folder of the batch ZIPs."""
    return _data_dir("lots")


def _template(template_id: int) -> drafting.TemplateInfo:
    return drafting.get_template(db.session, storage(), template_id)


def _writable_regions() -> list[Region]:
    user = current_actor()
    # Drafts are written for today's regions; the 2009 ones only hold the archive.
    regions = current_regions(db.session)
    return [r for r in regions if permissions.can_write_region(user, r.code)]


def _region_arg(value: str | None) -> str | None:
    """The region asked for (None = national), refused (403, logged) if the user may not draft there."""
    user = current_actor()
    code = (value or "").strip() or None
    if code in (permissions.NATIONAL,):
        code = None
    if code is None and not permissions.can_write_region(user, None):
        code = user.region_code
    if code is not None and db.session.get(Region, code) is None:
        abort(404)
    if not permissions.can_write_region(user, code):
        deny("region", code or permissions.NATIONAL, region_code=code, status=403)
    return code


def _year_arg(value: Any) -> int:
    try:
        year = int(str(value).strip())
    except (TypeError, ValueError):
        return dt.date.today().year
    return year if 2000 <= year <= 2100 else dt.date.today().year


def _form_context(template: drafting.TemplateInfo) -> dict[str, Any]:
    return {"input_id": input_id, "rows_for_display": rows_for_display, "list_text": list_text,
            "template": template}


# --------------------------------------------------------------------------- models


@bp.route("/")
@login_required
def index() -> Any:
    """Every model (built-in and uploaded) with its fields."""
    templates = drafting.list_templates(db.session, storage())
    fields = {t.id: drafting.template_fields(db.session, t) for t in templates}
    return render_template("drafting/index.html", templates=templates, fields=fields)


@bp.route("/nouveau", methods=["GET", "POST"])
@admin_required
def upload() -> Any:
    """An administrator files a Word model; its tags are checked first, each problem named."""
    form = TemplateUploadForm()
    form.setup()
    problems: list[Any] = []
    status = 200
    if form.validate_on_submit():
        upload_file = form.file.data
        data = upload_file.read(drafting.generation.MAX_TEMPLATE_BYTES + 1)
        try:
            info = drafting.upload_template(
                db.session, storage(), actor=current_actor(), data=data, filename=upload_file.filename or "",
                title=form.title.data, output_type=form.output_type.data,
                description=form.description.data or "", ip=client_ip(),
            )
        except drafting.TemplateRejected as exc:
            # The refusal is audited: commit it although the answer is a 4xx.
            db.session.commit()
            problems, status = exc.problems, 422
        except ValidationError as exc:
            show_errors(form, exc, "file")
            status = 422
        else:
            flash(f"Modèle « {info.title} » enregistré.", "success")
            return redirect(url_for("drafting.show", template_id=info.id))
    elif request.method == "POST":
        status = 422
    return render_template("drafting/upload.html", form=form, problems=problems), status


@bp.route("/<id:template_id>")
@login_required
def show(template_id: int) -> Any:
    """A model: its fields (administrators edit them), its drafts, generation links."""
    template = _template(template_id)
    fields = drafting.template_fields(db.session, template)
    drafts = drafting.drafts_of_template(db.session, current_actor(), template, limit=20)
    return render_template(
        "drafting/show.html", template=template, fields=fields, drafts=drafts,
        overrides=drafting.field_overrides(db.session), regions=_writable_regions(),
        national=permissions.can_write_region(current_actor(), None), year=dt.date.today().year,
        version_form=TemplateVersionForm(),
    )


@bp.route("/<id:template_id>/version", methods=["POST"])
@admin_required
def new_version(template_id: int) -> Any:
    """An administrator files a new version of a model (checked like an upload)."""
    template = _template(template_id)
    form = TemplateVersionForm()
    if not form.validate_on_submit():
        flash("Choisissez un fichier .docx.", "error")
        return redirect(url_for("drafting.show", template_id=template.id))
    upload_file = form.file.data
    try:
        drafting.upload_template(
            db.session, storage(), actor=current_actor(), data=upload_file.read(drafting.generation.MAX_TEMPLATE_BYTES + 1),
            filename=upload_file.filename or "", title=template.title, output_type=template.output_type,
            template_id=template.id, ip=client_ip(),
        )
    except drafting.TemplateRejected as exc:
        db.session.commit()  # the refusal is audited
        upload_form = TemplateUploadForm()
        upload_form.setup()
        return render_template("drafting/upload.html", form=upload_form, problems=exc.problems), 422
    flash("Nouvelle version du modèle enregistrée.", "success")
    return redirect(url_for("drafting.show", template_id=template.id))


@bp.route("/<id:template_id>/champs/<name>", methods=["GET", "POST"])
@admin_required
def edit_field(template_id: int, name: str) -> Any:
    """An administrator changes a field's label, type, required flag or default (for every model)."""
    template = _template(template_id)
    spec = next((s for s in drafting.template_fields(db.session, template) if s.name == name), None)
    if spec is None:
        abort(404)
    form = FieldForm()
    form.setup(spec)
    status = 200
    if request.method == "GET":
        form.label.data, form.type.data, form.required.data = spec.label, spec.type, spec.required
        form.default.data = spec.default if isinstance(spec.default, str) else ""
    elif form.validate_on_submit():
        default: Any = form.default.data or ""
        if not isinstance(spec.default, str) and spec.default is not None and not default:
            default = spec.default  # a list or organisation default is kept as it is
        try:
            drafting.set_field_override(db.session, actor=current_actor(), spec=spec, label=form.label.data,
                                        type=form.type.data, required=bool(form.required.data),
                                        default=default, ip=client_ip())
        except ValidationError as exc:
            show_errors(form, exc, "label")
            status = 422
        else:
            flash(f"Champ « {form.label.data} » modifié.", "success")
            return redirect(url_for("drafting.show", template_id=template.id))
    else:
        status = 422
    return render_template("drafting/field.html", form=form, spec=spec, template=template), status


# --------------------------------------------------------------------------- one draft


@bp.route("/<id:template_id>/rediger", methods=["GET", "POST"])
@writer_required
def draft(template_id: int) -> Any:
    """The generation form, built from the model's fields and prefilled from the database."""
    template = _template(template_id)
    fields = drafting.template_fields(db.session, template)
    source = request.form if request.method == "POST" else request.args
    region_code = _region_arg(source.get("region_choice", source.get("region")))
    year = _year_arg(source.get("year", dt.date.today().year))
    errors: dict[str, str] = {}
    message = ""
    status = 200
    avenant = drafting.drafts_an_avenant(template.output_type)
    modifies_id = _document_arg(source.get("modifies")) if avenant else None
    if request.method == "POST" and request.form.get("action") == "generer":
        raw = raw_from_form(fields, request.form)
        result, errors, message, status = _run_draft(
            lambda: drafting.generate_draft(db.session, storage(), actor=current_actor(), template=template,
                                            raw=raw, region_code=region_code, year=year, ip=client_ip(),
                                            modifies_id=modifies_id))
        if result is not None:
            flash("Brouillon généré et classé dans les documents.", "success")
            return redirect(url_for("drafting.draft_page", document_id=result.document.id))
    else:
        raw = drafting.prefill(db.session, template, region_code, year)
        if modifies_id is not None:
            try:
                _amended, raw = drafting.with_amended_agreement(
                    db.session, current_actor(), raw, output_type=template.output_type, region_code=region_code,
                    document_id=modifies_id)
            except ValidationError as exc:
                errors = dict(exc.errors)
        if request.method == "POST":
            # "Préremplir" after changing the region or the year: nothing is generated.
            status = 200
    previous = drafting.previous_generation(db.session, template, region_code, year)
    return render_template(
        "drafting/draft.html", fields=fields, raw=raw, errors=errors, message=message,
        region_code=region_code, year=year, regions=_writable_regions(),
        national=permissions.can_write_region(current_actor(), None), previous=previous,
        pdf=drafting.pdf_available(), modifies_id=modifies_id,
        amendable=drafting.amendable_agreements(db.session, current_actor(), region_code) if avenant else None,
        **_form_context(template),
    ), status


def _document_arg(raw: str | None) -> int | None:
    """A document number from the form; None when absent or not a number (the verb then links nothing)."""
    text = (raw or "").strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 10 else None


def _run_draft(verb: Callable[[], drafting.Draft]) -> tuple[drafting.Draft | None, dict[str, str], str, int]:
    """Generate or regenerate a draft from the form: (draft, field errors, message, status).

    The PDF rendition is made too when the form asked for it and LibreOffice is there.
    """
    try:
        result = verb()
    except ValidationError as exc:
        return None, dict(exc.errors), exc.message, 422
    except drafting.DraftingError as exc:
        return None, {}, exc.message, exc.status
    if request.form.get("pdf") and drafting.pdf_available():
        _make_pdf(result.version)
    return result, {}, "", 200


def _make_pdf(version: Any) -> None:
    try:
        drafting.make_pdf_rendition(storage(), version, rendition_dir())
    except drafting.DraftingError as exc:
        flash(f"Le PDF n'a pas pu être produit : {exc.message}", "error")


def _draft(document_id: int) -> tuple[Any, list[Generation]]:
    try:
        return drafting.draft_generations(db.session, current_actor(), document_id)
    except NotFound:
        deny_document(document_id)
        raise


@bp.route("/brouillons/<id:document_id>", methods=["GET", "POST"])
@login_required
def draft_page(document_id: int) -> Any:
    """A generated draft: its versions and provenance; "Régénérer" with changed values."""
    doc, generations = _draft(document_id)
    last = generations[-1]
    template = None
    if last.template_document_id is not None:
        try:
            template = _template(last.template_document_id)
        except NotFound:
            template = None
    fields = drafting.template_fields(db.session, template) if template else []
    raw: dict[str, Any] = dict(last.input_values or {})
    errors: dict[str, str] = {}
    message = ""
    status = 200
    can_write = permissions.can_write_region(current_actor(), doc.region_code)
    if request.method == "POST":
        if not can_write or template is None:
            deny("document", doc.id, region_code=doc.region_code, status=403)
        assert template is not None
        raw = raw_from_form(fields, request.form)
        result, errors, message, status = _run_draft(
            lambda: drafting.regenerate(db.session, storage(), actor=current_actor(), document_id=doc.id,
                                        raw=raw, ip=client_ip()))
        if result is not None:
            flash(f"Brouillon régénéré : version {result.version.number}.", "success")
            return redirect(url_for("drafting.draft_page", document_id=doc.id))
    else:
        record_access(db.session, "document.view", doc, actor=current_actor(), ip=client_ip())
    renditions = {v.number: drafting.rendition_path(rendition_dir(), v).is_file() for v in doc.versions}
    return render_template(
        "drafting/draft_page.html", doc=doc, generations=generations, last=last, fields=fields, raw=raw,
        errors=errors, message=message, can_write=can_write and template is not None,
        pdf=drafting.pdf_available(), renditions=renditions,
        library=("library.show" in current_app.view_functions), **_form_context(template),  # type: ignore[arg-type]  # the form context's values are of several types
    ), status


@bp.route("/brouillons/<id:document_id>/versions/<id:number>/telecharger")
@login_required
def download(document_id: int, number: int) -> Any:
    """The .docx of one version of a draft."""
    doc, _ = _draft(document_id)
    version = next((v for v in doc.versions if v.number == number), None)
    if version is None:
        abort(404)
    record_access(db.session, "document.download", doc, actor=current_actor(), ip=client_ip(), version=number)
    response = send_file(storage().local_path(version.sha256), mimetype=version.mime_type, as_attachment=True,
                         download_name=version.filename, max_age=0, etag=False)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/brouillons/<id:document_id>/versions/<id:number>/pdf", methods=["GET", "POST"])
@login_required
def pdf(document_id: int, number: int) -> Any:
    """GET: the PDF rendition of a version (if produced); POST: produce it (LibreOffice)."""
    doc, _ = _draft(document_id)
    version = next((v for v in doc.versions if v.number == number), None)
    if version is None:
        abort(404)
    if request.method == "POST":
        if not permissions.can_write_region(current_actor(), doc.region_code):
            deny("document", doc.id, region_code=doc.region_code, status=403)
        if not drafting.pdf_available():
            abort(404)
        _make_pdf(version)
        return redirect(url_for("drafting.draft_page", document_id=doc.id))
    path = drafting.rendition_path(rendition_dir(), version)
    if not path.is_file():
        abort(404)
    record_access(db.session, "document.download", doc, actor=current_actor(), ip=client_ip(), version=number)
    name = version.filename.rsplit(".", 1)[0] + ".pdf"
    response = send_file(path, mimetype="application/pdf", as_attachment=True, download_name=name, max_age=0,
                         etag=False)
    response.headers["Cache-Control"] = "private, no-store"
    return response


# --------------------------------------------------------------------------- batches


@bp.route("/<id:template_id>/lot", methods=["GET", "POST"])
@writer_required
def batch(template_id: int) -> Any:
    """One draft per region: an editable grid (or a CSV) of per-region values, values common to all."""
    template = _template(template_id)
    fields = drafting.template_fields(db.session, template)
    grid = drafting.grid_fields(fields)
    common_specs = drafting.common_fields(fields)
    parties = _party_cells(fields)
    regions = _writable_regions()
    year = _year_arg((request.form if request.method == "POST" else request.args).get("year",
                                                                                      dt.date.today().year))
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST" and request.form.get("action") == "lancer":
        chosen = [c for c in request.form.getlist("regions") if c]
        common = {s.name: request.form.get(f"common-{s.name}", "") for s in common_specs}
        rows: dict[str, dict[str, Any]] = {
            r.code: {s.name: request.form.get(f"r-{r.code}-{s.name}", "") for s in grid} for r in regions
        }
        for r in regions:
            for key, _ in parties:
                owner, _, sub = key.partition(".")
                rows[r.code].setdefault(owner, {})[sub] = request.form.get(f"p-{r.code}-{key}", "")
        upload_file = request.files.get("csv")
        try:
            if upload_file and upload_file.filename:
                from_csv = drafting.parse_values_csv(upload_file.read(drafting.MAX_CSV_BYTES + 1), fields)
                rows = {code: {**rows.get(code, {}), **values} for code, values in from_csv.items()}
                if not chosen:
                    chosen = list(from_csv)
            batch_row = drafting.start_batch(
                db.session, actor=current_actor(), template=template, year=year, region_codes=chosen,
                common=common, rows={c: rows.get(c, {}) for c in chosen}, ip=client_ip(),
            )
        except ValidationError as exc:
            errors, status = dict(exc.errors), 422
        else:
            # The job reads the batch row in its own session: commit it before the thread starts,
            # not after the response (the job would otherwise race the request's commit).
            commit(db.session)
            _start_thread(batch_row.id)
            return redirect(url_for("drafting.batch_page", batch_id=batch_row.id))
    grid_values = {r.code: drafting.prefill(db.session, template, r.code, year) for r in regions}
    return render_template(
        "drafting/batch.html", template=template, grid=grid, common_specs=common_specs, regions=regions,
        grid_values=grid_values, year=year, errors=errors, input_id=input_id, parties=parties,
    ), status


def _party_cells(fields: list[Any]) -> list[tuple[str, str]]:
    """(« drac.adresse », label) of the parties' details a batch row may give (the name comes from the référentiel)."""
    return [(f"{spec.name}.{sub.name}", f"{spec.label} – {sub.label}")
            for spec in fields if spec.type == "organisation" and not spec.computed
            for sub in spec.subfields if sub.name != "nom"]


def _start_thread(batch_id: int) -> None:
    """Run the batch in a background thread of this process; its row holds the progress."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # werkzeug's LocalProxy does not show the proxied object's methods

    def job() -> None:
        with app.app_context():
            # The job is its own edge: each step is committed so that the progress page sees it.
            with unit_of_work(db.factory) as session:
                drafting.run_batch(session, storage(), batch_id, batch_dir(), checkpoint=session.commit)

    threading.Thread(target=job, name=f"lot-{batch_id}", daemon=True).start()


def _batch(batch_id: int) -> Any:
    try:
        return drafting.get_batch(db.session, current_actor(), batch_id)
    except NotFound:
        deny("batch", batch_id)
        raise


def _batch_json(batch_row: Any) -> dict[str, Any]:
    interrupted = drafting.batch_interrupted(batch_row)
    finished = batch_row.finished or interrupted
    return {
        "id": batch_row.id, "status": "echec" if interrupted else batch_row.status,
        "done": batch_row.done, "total": batch_row.total, "finished": finished,
        "message": "Le lot a été interrompu (processus arrêté) : relancez-le." if interrupted else batch_row.message,
        "report": batch_row.report or [],
        "zip_url": url_for("drafting.batch_zip", batch_id=batch_row.id) if batch_row.zip_name else None,
        "redirect": url_for("drafting.batch_page", batch_id=batch_row.id) if finished else None,
    }


@bp.route("/lots/<id:batch_id>")
@login_required
def batch_page(batch_id: int) -> Any:
    """Progress of a batch (polled by JS; refreshed every 2 s without JS), then its report and ZIP."""
    batch_row = _batch(batch_id)
    state = _batch_json(batch_row)
    response = Response(render_template("drafting/batch_page.html", batch=batch_row, state=state))
    if not state["finished"]:
        response.headers["Refresh"] = "2"
    return response


@bp.route("/lots/<id:batch_id>/etat")
@login_required
def batch_status(batch_id: int) -> Any:
    """The batch's progress as JSON."""
    return jsonify(_batch_json(_batch(batch_id)))


@bp.route("/lots/<id:batch_id>/brouillons.zip")
@login_required
def batch_zip(batch_id: int) -> Any:
    """The ZIP of a finished batch."""
    batch_row = _batch(batch_id)
    path = drafting.batch_zip_path(batch_dir(), batch_row)
    if not batch_row.zip_name or not path.is_file():
        abort(404)
    response = send_file(path, mimetype="application/zip", as_attachment=True,
                         download_name=f"brouillons-lot-{batch_row.id}.zip", max_age=0, etag=False)
    response.headers["Cache-Control"] = "private, no-store"
    return response
