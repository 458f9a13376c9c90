"""Views of the référentiel."""

from __future__ import annotations

from typing import Any

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_login import login_required
from sqlalchemy import or_, select

from documents import organisations_csv, reference
from documents.errors import ValidationError
from documents.frenchtext import fold_words, french_order
from documents.models import Organisation, OrganisationKind, Quartier, Region
from documents.regions import covered_codes
from intranet.extensions import db
from intranet.forms import choices, show_errors
from intranet.pagination import paginate, parse_page_args
from intranet.reference import bp
from intranet.reference.forms import OrganisationForm, OrganisationsImportForm
from intranet.web import admin_required, current_actor


def quartier_query(args: Any) -> Any:
    """The filtered select of quartiers (shared with the API)."""
    stmt = select(Quartier).order_by(Quartier.region_code, Quartier.departement, Quartier.code)
    region = (args.get("region") or "").strip()
    departement = (args.get("departement") or "").strip()
    commune = (args.get("commune") or "").strip()
    text = (args.get("q") or "").strip()[:200]
    if region:
        # Quartiers keep their 2009 code: today's code (76) finds those of 91 and 73.
        stmt = stmt.where(Quartier.region_code.in_(sorted(covered_codes(region))))
    if departement:
        stmt = stmt.where(Quartier.departement.in_(_departements_like(departement)))
    if commune:
        stmt = stmt.where(Quartier.communes.ilike(f"%{_like(commune)}%", escape="\\"))
    if text:
        pattern = f"%{_like(text)}%"
        stmt = stmt.where(or_(
            Quartier.names.ilike(pattern, escape="\\"),
            Quartier.communes.ilike(pattern, escape="\\"),
            Quartier.code.ilike(pattern, escape="\\"),
            Quartier.departement.in_(_departements_like(text)),
        ))
    return stmt


def _fold(value: str) -> str:
    """Lower-case, no accents or punctuation, 'saint' as 'st' ('Seine-Saint-Denis' -> 'seine st denis')."""
    words = fold_words(value).split()
    return " ".join({"saint": "st", "sainte": "ste"}.get(w, w) for w in words)


def _departements_like(value: str, labels: list[str] | None = None) -> list[str]:
    # Annex 2 spells départements its own way ("Seine St Denis (93)"): match the official name
    # or the number too. There are about 70 labels, so folding them in Python is cheap and portable.
    wanted = _fold(value)
    if labels is None:
        labels = list(db.session.scalars(select(Quartier.departement).distinct()))
    return [label for label in labels if wanted and wanted in _fold(label)]


def _like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@bp.route("/")
@login_required
def index() -> Any:
    """Overview of the référentiel."""
    return redirect(url_for("reference.regions"))


@bp.route("/regions")
@login_required
def regions() -> Any:
    """Today's regions with their DRAC, coordination and predecessors; then the closed 2009 regions."""
    rows = db.session.scalars(select(Region).order_by(french_order(Region.name), Region.code)).all()
    current = [r for r in rows if r.current]
    former = [r for r in rows if not r.current]
    predecessors: dict[str, list[Region]] = {}
    for r in former:
        predecessors.setdefault(r.successor_code or "", []).append(r)
    orgs = db.session.scalars(
        select(Organisation).where(Organisation.kind.in_(["drac", "coordination_regionale"]))
    ).all()
    by_region: dict[str, dict[str, Organisation]] = {}
    for org in orgs:
        by_region.setdefault(org.region_code or "", {})[org.kind] = org
    return render_template("reference/regions.html", regions=current, former=former, predecessors=predecessors,
                           by_region=by_region, names={r.code: r.name for r in rows})


@bp.route("/organisations")
@login_required
def organisations() -> Any:
    """Organisations, filterable by kind, region and text."""
    stmt = select(Organisation).order_by(Organisation.kind, french_order(Organisation.name))
    kind = (request.args.get("kind") or "").strip()
    region = (request.args.get("region") or "").strip()
    text = (request.args.get("q") or "").strip()[:200]
    if kind:
        stmt = stmt.where(Organisation.kind == kind)
    if region:
        stmt = stmt.where(Organisation.region_code.in_(sorted(covered_codes(region))))
    if text:
        stmt = stmt.where(Organisation.name.ilike(f"%{_like(text)}%", escape="\\"))
    page, per_page = parse_page_args(request.args)
    result = paginate(db.session, stmt, page, per_page)
    return render_template(
        "reference/organisations.html", page=result, kinds=list(OrganisationKind),
        regions=db.session.scalars(select(Region).order_by(french_order(Region.name), Region.code)).all(), args=request.args,
    )


@bp.route("/organisations/<id:org_id>/modifier", methods=["GET", "POST"])
@admin_required
def edit_organisation(org_id: int) -> Any:
    """Admins edit an organisation's name, kind, address and representative."""
    org = db.session.get(Organisation, org_id)
    if org is None:
        abort(404)
    form = OrganisationForm(obj=org)
    form.kind.choices = choices((k.value, k.label) for k in OrganisationKind)
    status = 200
    if form.validate_on_submit():
        try:
            reference.update_organisation(
                db.session, org, actor=current_actor(),
                name=form.name.data or "", short_name=form.short_name.data or "",
                kind=form.kind.data or "", address=form.address.data or "",
                representative=form.representative.data or "",
                representative_title=form.representative_title.data or "",
                email=form.email.data or "", phone=form.phone.data or "",
            )
        except ValidationError as exc:
            show_errors(form, exc, "name")
            status = 422
        else:
            db.session.commit()
            flash("Organisation enregistrée.", "success")
            return redirect(url_for("reference.organisations"))
    elif request.method == "POST":
        status = 422
    return render_template("reference/organisation_form.html", form=form, org=org), status


@bp.route("/organisations.csv")
@admin_required
def organisations_export() -> Any:
    """Every organisation as one CSV (UTF-8, « ; ») to fill in and import back."""
    return Response(organisations_csv.export_csv(db.session), mimetype="text/csv", headers={
        "Content-Disposition": 'attachment; filename="organisations.csv"'})


@bp.route("/organisations/import", methods=["GET", "POST"])
@admin_required
def organisations_import() -> Any:
    """Admins import the organisations CSV: a dry run first shows what would change."""
    form = OrganisationsImportForm()
    report = None
    status = 200
    if form.validate_on_submit():
        try:
            report = organisations_csv.import_csv(db.session, form.file.data.read(), actor=current_actor(),
                                                  dry_run=bool(form.dry_run.data), ip=request.remote_addr or "")
        except ValidationError as exc:
            db.session.rollback()
            show_errors(form, exc, "file")
            status = 422
        else:
            if report.applied:
                db.session.commit()
                flash(report.summary(), "success")
            else:
                db.session.rollback()
                status = 422 if report.errors else 200
    elif request.method == "POST":
        status = 422
    return render_template("reference/organisations_import.html", form=form, report=report,
                           labels=organisations_csv.LABELS, shown=organisations_csv.shown), status


@bp.route("/quartiers")
@login_required
def quartiers() -> Any:
    """The 215 quartiers of annex 2, with filters."""
    page, per_page = parse_page_args(request.args)
    result = paginate(db.session, quartier_query(request.args), page, per_page)
    departements = list(db.session.scalars(
        select(Quartier.departement).distinct().order_by(Quartier.departement)
    ))
    # The URL may name a département as people write it ("Seine-Saint-Denis", "93"): the select
    # shows the annex 2 label it matched, or that text itself if it matched several or none.
    wanted = (request.args.get("departement") or "").strip()
    selected = wanted if wanted in departements else ""
    if wanted and not selected:
        matches = _departements_like(wanted, departements)
        if len(matches) == 1:
            selected = matches[0]
        else:
            departements.insert(0, wanted)
            selected = wanted
    return render_template(
        "reference/quartiers.html", page=result, args=request.args,
        regions=db.session.scalars(select(Region).order_by(french_order(Region.name), Region.code)).all(),
        departements=departements, selected_departement=selected,
    )


@bp.route("/quartiers/<code>")
@login_required
def quartier(code: str) -> Any:
    """One quartier."""
    row = db.session.get(Quartier, code)
    if row is None:
        abort(404)
    return render_template("reference/quartier.html", quartier=row)
