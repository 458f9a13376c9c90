"""The « Joindre un document de l'archive » form of a meeting page: the document is found by searching.

As for a document's links (``intranet.library.linkform``): without JavaScript, « Chercher » reloads the
meeting page with the matches (``?joindre=…``); with it, the picker asks the suggestions API as one types.
Both only offer documents the user may read that the meeting may hold (its region, the regions it
replaced, national documents), models excluded.
"""

from __future__ import annotations

from flask import request, url_for

from documents import suggest
from documents.errors import ValidationError
from documents.models import Meeting
from intranet.committees.forms import AttachForm
from intranet.extensions import db
from intranet.forms import choices
from intranet.web import current_actor


def attachable(meeting: Meeting) -> str:
    """The ``within`` of the suggestions for this meeting's documents."""
    return meeting.region_code or suggest.NATIONAL_ONLY


def attach_form(meeting: Meeting) -> AttachForm:
    """The form that attaches a document to ``meeting``, with the matches of a search (``?joindre=…``)."""
    form = AttachForm(prefix="attach")
    form.search_query = (request.args.get("joindre") or "").strip()[:suggest.MAX_CHARS]
    form.search_error = None
    found: list[suggest.Suggestion] = []
    attached = {a.document_id for a in meeting.attachments}
    if form.search_query:
        try:
            found = [s for s in suggest.suggest_documents(db.session, current_actor(), form.search_query,
                                                          limit=suggest.MAX_LIMIT, within=attachable(meeting))
                     if s.id not in attached]
        except ValidationError as exc:
            form.search_error = exc.message
    form.found_count = len(found)
    form.document.choices = choices(
        [("", "— Choisir parmi les documents trouvés —" if found else "— Cherchez d'abord le document —")]
        + [(str(s.id), s.label) for s in found])
    form.document.render_kw = {"data-picker-suggest": url_for("api.suggest_documents", within=attachable(meeting))}
    return form


def chosen_document(form: AttachForm) -> int | None:
    """The document chosen in the list, else the number typed (on a validated form); None when neither is given."""
    picked = (form.document.data or "").strip()
    if picked.isascii() and picked.isdigit() and 1 <= len(picked) <= 10:
        return int(picked)
    number: int | None = form.document_id.data
    return number
