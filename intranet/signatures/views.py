"""« En signature » and the three forms of the track on the document page.

Views parse, call a ``documents.signatures`` verb, commit and redirect; a refused step shows
the document page again with the message beside the form (4xx), the track unchanged.
"""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_login import login_required
from sqlalchemy import select

from documents import permissions, signatures
from documents.bounds import row_id
from documents.errors import DomainError, PermissionDenied
from documents.frenchtext import french_order
from documents.models import DocType, Document, Organisation, Region, StepKind, User
from documents.signatures.track import SIGNABLE_TYPES
from intranet.extensions import db, storage
from intranet.signatures import bp
from intranet.signatures.forms import ReturnForm, SendForm, SignForm
from intranet.signatures.settings import reminder_days
from intranet.web import client_ip, current_actor, deny, readable_document, writer_required

#: Accounts offered as the recipient to remind (the field accepts any name besides).
MAX_RECIPIENTS = 300
#: Form of each action, with its prefix (three forms on one page: their ids must differ).
FORMS = {"send": (SendForm, "envoi"), "sign": (SignForm, "sig"), "return": (ReturnForm, "retour")}


def _today() -> Any:
    from intranet.library.views import today_paris

    return today_paris()


def _recipient_choices(doc: Document) -> list[tuple[str, str]]:
    users = db.session.scalars(select(User).where(User.active.is_(True)).order_by(User.email).limit(MAX_RECIPIENTS))
    return [("", "— Aucun —")] + [(str(u.id), f"{u.display_name} ({u.email})") for u in users
                                  if permissions.can_read_region(u, doc.region_code)]


def _form(name: str, doc: Document | None = None, *, formdata: bool = False) -> Any:
    """The form of ``name``, bound to the request (``formdata``) or empty, with its choices."""
    cls, prefix = FORMS[name]
    form = cls(prefix=prefix) if formdata else cls(prefix=prefix, formdata=None)
    if name == "send" and doc is not None:
        form.recipient_user.choices = _recipient_choices(doc)
    return form


def panel(doc: Document) -> dict[str, Any]:
    """What the signature panel of the document page shows: the track, and the forms the user may use."""
    track = signatures.track_of(db.session, doc)
    user = current_actor()
    can_act = (signatures.is_signable(doc) and not doc.in_trash
               and permissions.can_write_region(user, doc.region_code))
    stashed: dict[str, Any] = getattr(g, "signature_forms", {})
    forms: dict[str, Any] = {}
    if can_act and track.next is not None:
        key = "send" if track.next.kind is StepKind.ENVOI else "sign"
        form = stashed.get(key) or _form(key, doc)
        if form.date.data is None and not form.date.errors:
            form.date.data = _today()
        if key == "sign":
            form.step.data = track.next.kind.value
            form.signatory.choices = [("", "— Choisissez —")] + [
                (str(o.id), o.name) for o in track.next.signatories]
        elif key == "send" and not form.recipient_user.choices:
            form.recipient_user.choices = _recipient_choices(doc)
        forms[key] = form
    if can_act and track.open:
        forms["return"] = stashed.get("return") or _form("return")
    labelled = [(s, signatures.step_label(StepKind(s.kind), doc, s.organisation, s.signatory))
                for s in track.history]
    return {"track": track, "forms": forms, "steps": labelled, "signable": signatures.is_signable(doc),
            "error": getattr(g, "signature_error", None)}


@bp.app_context_processor
def _panel_helper() -> dict[str, Any]:
    # The document page includes templates/signatures/_panel.html, which asks for its data here.
    return {"signature_panel": panel}


def _document(document_id: int) -> Document:
    """A document the user may change; otherwise the denial is logged (404 if unreadable, 403 if read-only)."""
    user = current_actor()
    doc = readable_document(document_id)
    if not permissions.can_write_region(user, doc.region_code):
        deny("document", doc.id, region_code=doc.region_code, status=403)
    return doc


def _refused(doc: Document, name: str, form: Any, exc: DomainError) -> Any:
    """The document page again, the message beside the form that was sent."""
    from intranet.library.views import _page

    db.session.rollback()
    db.session.refresh(doc)
    if not signatures.is_signable(doc):
        raise exc  # no panel on this page to show it beside: the French error page says it
    errors = getattr(exc, "errors", {}) or {}
    for key, message in errors.items():
        field = getattr(form, {"recipient_user": "recipient_user", "signatory": "signatory"}.get(key, key), None)
        if field is not None and hasattr(field, "errors"):
            field.errors = [message]
    g.signature_forms = {name: form}
    g.signature_error = exc.message
    return _page(doc, status=exc.status)


def _invalid(doc: Document, name: str, form: Any) -> Any:
    from intranet.library.views import _page

    g.signature_forms = {name: form}
    g.signature_error = "Le formulaire contient des erreurs : corrigez les champs signalés."
    if form.errors.get("csrf_token"):
        abort(400, "Le formulaire a expiré ou n'est pas valide (jeton CSRF). Rechargez la page et recommencez.")
    return _page(doc, status=422)


def _done(doc: Document, message: str) -> Any:
    db.session.commit()
    flash(message, "success")
    return redirect(url_for("library.show", document_id=doc.id) + "#signature")


@bp.route("/documents/<id:document_id>/envoi", methods=["POST"])
@writer_required
def send(document_id: int) -> Any:
    """Envoyer pour signature."""
    doc = _document(document_id)
    form = _form("send", doc, formdata=True)
    if not form.validate_on_submit():
        return _invalid(doc, "send", form)
    recipient_user = None
    if form.recipient_user.data:
        recipient_id = row_id(form.recipient_user.data)
        recipient_user = db.session.get(User, recipient_id) if recipient_id else None
        if recipient_user is None:
            form.recipient_user.errors = ["Compte inconnu."]
            return _invalid(doc, "send", form)
    try:
        signatures.send_for_signature(db.session, doc, actor=current_actor(), recipient=form.recipient.data or "",
                                      recipient_user=recipient_user, on=form.date.data, today=_today(),
                                      ip=client_ip(), base_url=current_app.config["BASE_URL"])
    except PermissionDenied:
        raise
    except DomainError as exc:
        return _refused(doc, "send", form, exc)
    return _done(doc, "Document envoyé pour signature.")


@bp.route("/documents/<id:document_id>/signature", methods=["POST"])
@writer_required
def sign(document_id: int) -> Any:
    """Record the signature waited for (the last one with the signed scan)."""
    doc = _document(document_id)
    form = _form("sign", doc, formdata=True)
    if not form.validate_on_submit():
        return _invalid(doc, "sign", form)
    organisation = None
    if form.signatory.data:
        org_id = row_id(form.signatory.data)
        organisation = db.session.get(Organisation, org_id) if org_id else None
        if organisation is None:
            form.signatory.errors = ["Signataire inconnu du référentiel."]
            return _invalid(doc, "sign", form)
    upload = request.files.get(form.file.name)
    from intranet.library.views import _temp_copies

    files = [upload] if upload is not None and upload.filename else []
    try:
        with _temp_copies(files) as paths:
            step = signatures.record_signature(
                db.session, storage(), doc, actor=current_actor(), kind=form.step.data or "", on=form.date.data,
                organisation=organisation, scan=paths[0] if paths else None,
                filename=(files[0].filename or "") if files else "", comment=form.comment.data or "",
                today=_today(), ip=client_ip())
    except PermissionDenied:
        raise
    except DomainError as exc:
        return _refused(doc, "sign", form, exc)
    if step.version_id is not None:
        return _done(doc, "Signature enregistrée : le document est signé et verrouillé, le scan est sa version signée.")
    return _done(doc, "Signature enregistrée.")


@bp.route("/documents/<id:document_id>/retour", methods=["POST"])
@writer_required
def return_to_draft(document_id: int) -> Any:
    """Renvoyer en brouillon, avec un motif."""
    doc = _document(document_id)
    form = _form("return", formdata=True)
    if not form.validate_on_submit():
        return _invalid(doc, "return", form)
    try:
        signatures.return_to_draft(db.session, doc, actor=current_actor(), reason=form.reason.data or "",
                                   today=_today(), ip=client_ip())
    except PermissionDenied:
        raise
    except DomainError as exc:
        return _refused(doc, "return", form, exc)
    return _done(doc, "Document renvoyé en brouillon.")


# --------------------------------------------------------------------------- the list


def _filters() -> tuple[str | None, str | None]:
    """The type and region asked for; an unknown value is a 400 with a French message."""
    doc_type = (request.args.get("type") or "").strip() or None
    region = (request.args.get("region") or "").strip() or None
    if doc_type is not None and doc_type not in SIGNABLE_TYPES:
        abort(400, "Type inconnu : choisissez convention, avenant, contrat d'objectifs ou protocole.")
    if region is not None and region != "national" and db.session.get(Region, region[:8]) is None:
        abort(400, f"Région inconnue : « {region[:20]} ».")
    return doc_type, region


@bp.route("/")
@login_required
def index() -> Any:
    """What waits for a signature, the longest wait first, within the user's regions."""
    doc_type, region = _filters()
    user = current_actor()
    rows = signatures.awaiting_signature(db.session, user, doc_type=doc_type, region_code=region, today=_today(),
                                         limit=signatures.waiting.MAX_ROWS + 1)
    allowed = permissions.visible_regions(user)
    regions = [r for r in db.session.scalars(select(Region).where(Region.valid_until.is_(None))
                                             .order_by(french_order(Region.name), Region.code))
               if allowed is None or r.code in allowed]
    types = [DocType(t) for t in SIGNABLE_TYPES]
    return render_template("signatures/index.html", rows=rows[:signatures.waiting.MAX_ROWS],
                           truncated=len(rows) > signatures.waiting.MAX_ROWS, types=types, regions=regions,
                           national=permissions.can_read_region(user, None),
                           filters={"type": doc_type or "", "region": region or ""},
                           delays=reminder_days())
