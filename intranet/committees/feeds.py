"""The personal calendar feed and the Atom feed of approved minutes.

Both also open with a personal token in the address, for calendar clients that cannot log
in; the token is scoped like its owner.
"""

from __future__ import annotations

from typing import Any

from flask import Response, abort, flash, redirect, render_template, request, url_for

from documents.calendar import feed_ics, minutes_atom
from documents.committees import feeds, minutes
from documents.models import User
from intranet.committees.blueprint import bp
from intranet.committees.helpers import external_url, login_required
from intranet.extensions import db
from intranet.web import client_ip, current_actor, record


@bp.route("/agenda", methods=["GET", "POST"])
@login_required
def calendar_settings() -> Any:
    """The personal calendar feed: create (or replace) and revoke its secret address."""
    user = current_actor()
    new_url = None
    if request.method == "POST":
        # CSRFProtect has already checked the token of this POST.
        if request.form.get("action") == "revoke":
            feeds.revoke_feed_tokens(db.session, user, ip=client_ip())
            flash("Adresse d'abonnement révoquée : les agendas abonnés ne reçoivent plus rien.", "success")
            return redirect(url_for("committees.calendar_settings"))
        token = feeds.create_feed_token(db.session, user, ip=client_ip())
        new_url = external_url("committees.calendar_feed", token=token)
        atom_url = external_url("committees.minutes_feed_token", token=token)
        return render_template("committees/calendar.html", token=feeds.feed_token_info(db.session, user),
                               new_url=new_url, atom_url=atom_url,
                               meetings=feeds.my_meetings(db.session, user))
    return render_template("committees/calendar.html", token=feeds.feed_token_info(db.session, user), new_url=None,
                           atom_url=None, meetings=feeds.my_meetings(db.session, user))


def _feed_user(token: str) -> User:
    user = feeds.user_for_feed_token(db.session, token)
    if user is None:
        # The path holds the (wrong) secret: it is never written to the log.
        record("calendar.feed_denied", outcome="denied", object_type="calendar",
               details={"feed": "atom" if request.path.endswith(".atom") else "ics"})
        db.session.commit()
        abort(404)
    return user


@bp.route("/agenda/<token>.ics")
def calendar_feed(token: str) -> Any:
    """A user's meetings as an iCalendar feed, opened with the personal token (no session)."""
    user = _feed_user(token)
    data = feed_ics(feeds.my_meetings(db.session, user), name="Comités – Passeurs d'images",
                    url_for=lambda m: external_url("committees.meeting", meeting_id=m.id))
    return Response(data, mimetype="text/calendar", headers={"Cache-Control": "private, max-age=0",
                                                             "Referrer-Policy": "no-referrer"})


def _atom(user: Any, feed_url: str) -> Response:
    data = minutes_atom(minutes.approved_minutes(db.session, user), feed_url=feed_url,
                        site_url=external_url("committees.index"),
                        url_for=lambda m: external_url("committees.meeting", meeting_id=m.id))
    return Response(data, mimetype="application/atom+xml", headers={"Cache-Control": "private, max-age=0"})


@bp.route("/flux/comptes-rendus.atom")
@login_required
def minutes_feed() -> Any:
    """Atom feed of newly approved minutes (session)."""
    return _atom(current_actor(), external_url("committees.minutes_feed"))


@bp.route("/flux/<token>/comptes-rendus.atom")
def minutes_feed_token(token: str) -> Any:
    """Atom feed of newly approved minutes, opened with the personal token (no session)."""
    user = _feed_user(token)
    return _atom(user, request.base_url)
