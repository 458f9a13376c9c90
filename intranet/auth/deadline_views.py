"""Profile: the deadline alerts by e-mail (opt-out) and the personal ICS feed of deadlines (create, revoke)."""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, redirect, url_for
from flask_login import login_required
from wtforms import BooleanField, SubmitField

from documents import deadline_alerts, deadline_feed
from documents.errors import ValidationError
from intranet.auth import bp
from intranet.auth.forms import EmptyForm
from intranet.extensions import db
from intranet.forms import FrenchForm
from intranet.web import client_ip, current_actor


class AlertsForm(FrenchForm):
    """The opt-out of the deadline alerts (ticked by default)."""

    deadline_alerts = BooleanField("Recevoir les alertes d'échéances par courriel")
    submit = SubmitField("Enregistrer")


def feed_url(token: str) -> str:
    """The absolute address of the feed opened by ``token``, on ``INTRANET_BASE_URL``."""
    return current_app.config["BASE_URL"].rstrip("/") + url_for("library.deadlines_feed", token=token)


def profile_context(user: Any, *, new_feed_url: str | None = None) -> dict[str, Any]:
    """What the profile page shows about deadlines: the alerts form, the feed's state, a new address once."""
    return {
        "alerts_form": AlertsForm(formdata=None, deadline_alerts=bool(user.deadline_alerts)),
        "feed_token": deadline_feed.feed_token_info(db.session, user),
        "new_feed_url": new_feed_url,
    }


@bp.route("/profil/alertes-echeances", methods=["POST"])
@login_required
def deadline_alerts_settings() -> Any:
    """Turn the deadline alerts by e-mail on or off."""
    form = AlertsForm()
    if not form.validate_on_submit():
        raise ValidationError("Formulaire invalide : rechargez la page et recommencez.")
    enabled = bool(form.deadline_alerts.data)
    deadline_alerts.set_alert_preference(db.session, current_actor(), enabled=enabled, ip=client_ip())
    db.session.commit()
    flash("Vous recevrez les alertes d'échéances par courriel." if enabled
          else "Vous ne recevrez plus les alertes d'échéances par courriel.", "success")
    return redirect(url_for("auth.profile") + "#alertes")


@bp.route("/profil/flux-echeances", methods=["POST"])
@login_required
def deadline_feed_settings() -> Any:
    """Create (or regenerate) the personal feed address of deadlines, or revoke it."""
    from flask import request

    from intranet.auth.views import render_profile

    if not EmptyForm().validate_on_submit():
        raise ValidationError("Formulaire invalide : rechargez la page et recommencez.")
    user = current_actor()
    if request.form.get("action") == "revoke":
        deadline_feed.revoke_feed_tokens(db.session, user, ip=client_ip())
        db.session.commit()
        flash("Adresse d'abonnement aux échéances révoquée : les agendas abonnés ne reçoivent plus rien.", "success")
        return redirect(url_for("auth.profile") + "#flux-echeances")
    token = deadline_feed.create_feed_token(db.session, user, ip=client_ip())
    db.session.commit()
    return render_profile(new_feed_url=feed_url(token))
