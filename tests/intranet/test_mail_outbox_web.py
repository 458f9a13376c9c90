"""Administrators see the mail outbox with its dead letters and send one again."""

from __future__ import annotations

import html
from typing import Any

from documents.models import AuditEvent, MailOutbox
from testkit import csrf_token, login_client


def _dead(db_session: Any) -> int:
    row = MailOutbox(recipients=["nadia@melies.example"], subject="Convocation : comité du 12/03/2026", body="x",
                     attachments=[], origin="meeting:1:scheduled", state="dead", attempts=8,
                     last_error="Le serveur de messagerie smtp.test:25 a refusé ou n'a pas répondu")
    db_session.add(row)
    db_session.commit()
    return row.id


def test_admin_sees_a_dead_letter_and_retries_it(app: Any, db_session: Any) -> None:
    row_id = _dead(db_session)
    admin = login_client(app, "admin")
    page = html.unescape(admin.get("/comites/admin/courriels").get_data(as_text=True))
    assert "Convocation : comité du 12/03/2026" in page and "abandonné" in page and "smtp.test:25" in page
    response = admin.post(f"/comites/admin/courriels/file/{row_id}/renvoyer",
                          data={"csrf_token": csrf_token(admin, "/comites/admin/courriels")})
    assert response.status_code == 302
    db_session.expire_all()
    row = db_session.get(MailOutbox, row_id)
    assert (row.state, row.attempts) == ("pending", 0)
    assert db_session.query(AuditEvent).filter_by(action="mail.retry").count() == 1
    # A pending message cannot be « retried »: a French refusal, not a 500.
    again = admin.post(f"/comites/admin/courriels/file/{row_id}/renvoyer",
                       data={"csrf_token": csrf_token(admin, "/comites/admin/courriels")})
    assert again.status_code == 422 and "abandonné ou en échec" in html.unescape(again.get_data(as_text=True))


def test_only_administrators_retry(app: Any, db_session: Any) -> None:
    row_id = _dead(db_session)
    national = login_client(app, "national")
    response = national.post(f"/comites/admin/courriels/file/{row_id}/renvoyer",
                             data={"csrf_token": csrf_token(national, "/")})
    assert response.status_code == 403
    db_session.expire_all()
    assert db_session.get(MailOutbox, row_id).state == "dead"
    admin = login_client(app, "admin")
    missing = admin.post(f"/comites/admin/courriels/file/{row_id + 1000}/renvoyer",
                         data={"csrf_token": csrf_token(admin, "/")})
    assert missing.status_code == 404
