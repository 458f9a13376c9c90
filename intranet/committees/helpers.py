"""What every committee page does: load a committee or meeting within the user's scope,
run a verb and flash its outcome, read upload and filter arguments, build outside links.

Another region's committee or meeting answers 404 and logs the denial; changing one that
may only be read (the national committee, for regional staff) answers 403, also logged.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar, cast

import flask_login
from flask import current_app, flash, redirect, request, url_for

from documents.bounds import row_id
from documents.committees import notifications, scope
from documents.errors import DomainError, ValidationError
from documents.models import Committee, Meeting
from intranet.extensions import db
from intranet.web import current_actor, deny

F = TypeVar("F", bound=Callable[..., Any])


def login_required(view: F) -> F:
    """``flask_login.login_required`` with the view's type kept (flask_login has no type hints)."""
    return cast(F, flask_login.login_required(view))


def load_committee(committee_id: int, *, write: bool = False) -> Committee:
    """The committee if visible (404 + logged denial otherwise); 403 + log if ``write`` and read-only."""
    committee = db.session.get(Committee, committee_id)
    user = current_actor()
    if committee is None or not scope.can_read(user, committee):
        deny("committee", committee_id, region_code=committee.region_code if committee else None)
    assert committee is not None
    if write and not scope.can_manage(user, committee):
        deny("committee", committee_id, region_code=committee.region_code, status=403)
    return committee


def load_meeting(meeting_id: int, *, write: bool = False) -> Meeting:
    """The meeting if visible (404 + logged denial otherwise); 403 + log if ``write`` and read-only."""
    meeting = db.session.get(Meeting, meeting_id)
    user = current_actor()
    if meeting is None or not scope.can_read(user, meeting):
        deny("meeting", meeting_id, region_code=meeting.region_code if meeting else None)
    assert meeting is not None
    if write and not scope.can_manage(user, meeting):
        deny("meeting", meeting_id, region_code=meeting.region_code, status=403)
    return meeting


def external_url(endpoint: str, **values: Any) -> str:
    """An absolute address for mails and feeds, built on the configured BASE_URL."""
    return str(current_app.config["BASE_URL"]).rstrip("/") + url_for(endpoint, **values)


def notifier() -> notifications.Notifier:
    """How notifications write a meeting's address (they go to the mail outbox, sent by the mail worker)."""
    return notifications.Notifier(lambda m: external_url("committees.meeting", meeting_id=m.id))


def flash_error(exc: DomainError) -> None:
    details = "; ".join(dict.fromkeys(getattr(exc, "errors", {}).values()))
    flash(exc.message + (f" {details}" if details else ""), "error")


def attempt(verb: Callable[[], Any], success: str | Callable[[Any], str],
            errors: type[DomainError] = DomainError) -> None:
    """Run a committee verb for a POST: on ``errors`` roll back and flash the French
    message, otherwise flash ``success`` (a text, or made from the verb's result)."""
    try:
        result = verb()
    except errors as exc:
        db.session.rollback()
        flash_error(exc)
    else:
        flash(success(result) if callable(success) else success, "success")


def form_errors(form: Any) -> str:
    """A form's error messages on one line (for a flash after a POST from a tab)."""
    return " ".join(e for errs in form.errors.values() for e in errs)


def to_meeting_page(meeting: Meeting, anchor: str = "") -> Any:
    return redirect(url_for("committees.meeting", meeting_id=meeting.id) + (f"#{anchor}" if anchor else ""))


@contextmanager
def uploaded(field: str) -> Iterator[tuple[Path, str]]:
    """The uploaded file copied to a private temporary folder (removed afterwards)."""
    upload = request.files.get(field)
    if upload is None or not upload.filename:
        raise ValidationError("Choisissez un fichier à déposer.", errors={field: "Aucun fichier."})
    with tempfile.TemporaryDirectory(prefix="upload-") as tmp:
        path = Path(tmp) / "upload.bin"
        upload.save(path)
        yield path, upload.filename


def year_arg() -> int | None:
    try:
        year = int(request.args.get("annee", ""))
    except ValueError:
        return None
    return year if 1990 <= year <= 2200 else None


def int_arg(name: str) -> int | None:
    # An id filter: beyond PostgreSQL's integer it can match nothing, so it filters nothing.
    return row_id(request.args.get(name, ""))
