"""The « Ajouter un lien » form of a document page: the link types, and the document to link found by searching.

The document is found by searching, never chosen from a list of the whole archive: without
JavaScript, « Chercher » reloads the page with the matches (``?lien=…``); with it, the picker asks
the suggestions API as one types. Both only offer documents the user may read, models excluded.
"""

from __future__ import annotations

from flask import request, url_for

from documents import suggest
from documents.errors import ValidationError
from documents.models import Document, LinkType
from intranet.extensions import db
from intranet.forms import choices
from intranet.library.forms import LinkForm
from intranet.web import current_actor


def link_form(doc: Document) -> LinkForm:
    """The form that links ``doc`` to another document, with the matches of a search (``?lien=…``) to choose from."""
    form = LinkForm()
    pairs = []
    for kind in LinkType:
        pairs.append((kind.value, f"Ce document {kind.label} …"))
        pairs.append((f"inverse:{kind.value}", f"Ce document {kind.inverse_label} …"))
    form.link_type.choices = choices(pairs)
    form.search_query = (request.args.get("lien") or "").strip()[:suggest.MAX_CHARS]
    form.search_error = None
    found: list[suggest.Suggestion] = []
    if form.search_query:
        try:
            found = suggest.suggest_documents(db.session, current_actor(), form.search_query,
                                              limit=suggest.MAX_LIMIT, exclude_id=doc.id)
        except ValidationError as exc:
            form.search_error = exc.message
    posted = (form.target.data or "").strip() if request.method == "POST" else ""
    if posted.isascii() and posted.isdigit() and len(posted) <= 10 and int(posted) not in {s.id for s in found}:
        # A choice sent back with an error elsewhere in the form stays chosen.
        found += [s for s in suggest.suggest_documents(db.session, current_actor(), posted, exclude_id=doc.id)
                  if s.id == int(posted)]
    form.found_count = len(found)
    form.target.choices = choices(
        [("", "— Choisir parmi les documents trouvés —" if found else "— Cherchez d'abord le document —")]
        + [(str(s.id), s.label) for s in found])
    form.target.render_kw = {"data-picker-suggest": url_for("api.suggest_documents", exclude=doc.id)}
    return form
