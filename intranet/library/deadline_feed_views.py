"""The personal iCalendar feed of deadlines, opened with its token (no session): read only."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from flask import Response, abort, current_app, request, url_for

from documents import deadline_feed
from intranet.extensions import db
from intranet.library import bp

logger = logging.getLogger("intranet.audit")


#: A document id no row has, replaced in one built address to get every other one: ``url_for`` per
#: event was a large part of the time of a feed of thousands of dates.
_PLACEHOLDER = 987654321


def _document_urls() -> Callable[[int], str]:
    """``doc_id -> absolute address of the document page``, built once per feed."""
    template = current_app.config["BASE_URL"].rstrip("/") + url_for("library.show", document_id=_PLACEHOLDER)
    head, _, tail = template.rpartition(str(_PLACEHOLDER))
    return lambda doc_id: f"{head}{doc_id}{tail}"


@bp.route("/echeances/flux/<token>.ics")
def deadlines_feed(token: str) -> Any:
    """The dates of the token owner's scope as all-day events; an unknown or revoked token answers 404.

    Nothing is written, not even the refusal: calendar clients poll, and a GET changes no state.
    The refusal goes to the log, without the token.
    """
    from intranet.library.views import today_paris

    user = deadline_feed.user_for_feed_token(db.session, token)
    if user is None:
        logger.warning("deadlines.feed_denied denied ip=%s", request.remote_addr or "-")
        abort(404)
    items = deadline_feed.feed_deadlines(db.session, user, today=today_paris())
    data = deadline_feed.deadlines_ics(items, document_url=_document_urls())
    return Response(data, mimetype="text/calendar", headers={"Cache-Control": "private, max-age=0",
                                                             "Referrer-Policy": "no-referrer"})
