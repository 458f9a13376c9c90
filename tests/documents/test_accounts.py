"""Account operations: password policy and hashing, login throttling, sessions, tokens."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import func, select

from documents import accounts
from documents.db import make_engine, make_session_factory, utcnow
from documents.errors import NotFound, ValidationError
from documents.models import ApiToken, AuditEvent, LoginAttempt, User, UserSession
from testkit import PASSWORD, USERS, sqlite_only, user

IP = "192.0.2.10"


# --- hashing and policy -----------------------------------------------------------------------


def test_production_hasher_is_argon2id_with_owasp_costs() -> None:
    # The suite lowers the costs (conftest); the production values are the module constants.
    assert accounts.HASH_MEMORY_COST_KIB >= 19 * 1024 and accounts.HASH_TIME_COST >= 2
    assert accounts.HASH_PARALLELISM >= 1
    hasher = accounts.make_hasher()
    stored = hasher.hash("une phrase de passe")
    assert stored.startswith(
        f"$argon2id$v=19$m={accounts.HASH_MEMORY_COST_KIB},t={accounts.HASH_TIME_COST},"
        f"p={accounts.HASH_PARALLELISM}$")
    # Hashes made with the production costs verify whatever the current costs are.
    assert accounts.verify_password(stored, "une phrase de passe")
    assert not accounts.verify_password(stored, "une phrase de passE")


@sqlite_only
def test_stored_hashes_are_salted_argon2id(db_session: Any) -> None:
    one = accounts.create_user(db_session, email="a@test.fr", role="national", password=PASSWORD)
    two = accounts.create_user(db_session, email="b@test.fr", role="national", password=PASSWORD)
    assert one.password_hash.startswith("$argon2id$") and two.password_hash.startswith("$argon2id$")
    assert one.password_hash != two.password_hash
    assert PASSWORD not in one.password_hash


@pytest.mark.parametrize("stored", ["", "md5$abc", "$argon2id$v=19$m=8,t=1,p=1$tronque", "$2b$12$" + "a" * 53])
def test_verify_password_never_raises(stored: str) -> None:
    assert accounts.verify_password(stored, PASSWORD) is False


def test_password_policy() -> None:
    assert accounts.password_problems("Onze-carac.") == ["Le mot de passe doit compter au moins 12 caractères."]
    assert accounts.password_problems("Douze-carac.") == []
    assert accounts.password_problems("àéèùâêîôûçëï") == []  # twelve characters, not bytes
    passphrase = ("quand le cinéma rencontre le quartier, les images circulent " * 4)[:200]
    assert len(passphrase) == 200 and accounts.password_problems(passphrase) == []
    assert accounts.password_problems("x" * 1025 + "yz")[0].startswith("Le mot de passe ne doit pas dépasser")
    for common in ("azerty123456", "AZERTY123456", "motdepasse123", "Password1234!"):
        assert "Ce mot de passe est trop courant : choisissez-en un autre." in accounts.password_problems(common)
    assert accounts.password_problems("abababababababab")  # two characters repeated
    assert accounts.password_problems("Jean.Dupont-2026!", email="jean.dupont@test.fr") == [
        "Le mot de passe ne doit pas contenir votre adresse e-mail."]


def test_generated_passwords_satisfy_the_policy() -> None:
    generated = {accounts.generate_password() for _ in range(50)}
    assert len(generated) == 50
    assert all(accounts.password_problems(p) == [] for p in generated)


@sqlite_only
def test_weak_password_refused_on_create_and_change(db_session: Any) -> None:
    with pytest.raises(ValidationError) as refused:
        accounts.create_user(db_session, email="faible@test.fr", role="national", password="bienvenue123")
    assert "trop courant" in refused.value.errors["password"]
    idf = user(db_session, "idf")
    before = idf.password_hash
    with pytest.raises(ValidationError):
        accounts.set_password(db_session, idf, "court")
    assert idf.password_hash == before


# --- users, roles, regions --------------------------------------------------------------------


def test_create_user_normalises_and_scopes(db_session: Any) -> None:
    regional = accounts.create_user(db_session, email="  Marie.Curie@Test.FR ", role="regional",
                                    region_code="53", password=PASSWORD)
    assert (regional.email, regional.region_code) == ("marie.curie@test.fr", "53")
    national = accounts.create_user(db_session, email="n2@test.fr", role="national", region_code="53")
    assert national.region_code is None, "national and admin accounts are never tied to a region"
    lecteur = accounts.create_user(db_session, email="l2@test.fr", role="lecteur", region_code="93")
    assert lecteur.region_code == "93"
    assert lecteur.password_hash == "" and not accounts.verify_password(lecteur.password_hash, "")
    event = db_session.scalar(select(AuditEvent).where(AuditEvent.action == "user.create",
                                                       AuditEvent.object_id == str(regional.id)))
    assert event.details == {"email": "marie.curie@test.fr", "role": "regional"}


CREATE_REFUSALS = [
    ({"email": "x@test.fr", "role": "regional"}, "region", "Choisissez la région de ce compte."),
    ({"email": "x@test.fr", "role": "regional", "region_code": "99"}, "region", "Aucune région n'a le code 99."),
    ({"email": "x@test.fr", "role": "superadmin"}, "role",
     "Choisissez administrateur, national, régional ou lecteur."),
    ({"email": "sans-arobase", "role": "national"}, "email", "Saisissez une adresse e-mail valide."),
    ({"email": "a b@test.fr", "role": "national"}, "email", "Saisissez une adresse e-mail valide."),
    ({"email": "IDF@test.fr", "role": "national"}, "email", "Un compte utilise déjà cette adresse."),
]


@sqlite_only
def test_create_user_refusals(db_session: Any) -> None:
    for kwargs, field, message in CREATE_REFUSALS:
        with pytest.raises(ValidationError) as refused:
            accounts.create_user(db_session, **kwargs)
        assert refused.value.errors == {field: message}, kwargs
        assert refused.value.status in (400, 422)
    assert db_session.scalar(select(func.count()).select_from(User).where(User.email == "x@test.fr")) == 0


def test_update_user_disabling_ends_sessions(db_session: Any) -> None:
    idf = user(db_session, "idf")
    sid = accounts.open_session(db_session, idf, ip=IP)
    db_session.flush()
    assert accounts.load_session_user(db_session, sid) is idf
    accounts.update_user(db_session, idf, role="regional", region_code="11", name="IDF", active=False)
    db_session.flush()
    db_session.expire_all()
    assert accounts.load_session_user(db_session, sid) is None
    with pytest.raises(ValidationError):
        accounts.update_user(db_session, idf, role="regional", region_code=None, name="", active=True)


def test_admin_cannot_demote_or_disable_themself(db_session: Any) -> None:
    admin = user(db_session, "admin")
    for role, active in (("national", True), ("admin", False), ("lecteur", False)):
        with pytest.raises(ValidationError) as refused:
            accounts.update_user(db_session, admin, role=role, region_code=None, name="", active=active, actor=admin)
        assert refused.value.errors == {"role": "Vous ne pouvez pas retirer vos propres droits d'administrateur."}
    db_session.expire_all()
    assert (admin.role, admin.active) == ("admin", True)
    # Renaming oneself is fine, and another admin (or an operator without identity) may demote them.
    accounts.update_user(db_session, admin, role="admin", region_code=None, name="Chef", active=True, actor=admin)
    other = accounts.create_user(db_session, email="second@test.fr", role="admin")
    accounts.update_user(db_session, admin, role="national", region_code=None, name="", active=True, actor=other)
    assert admin.role == "national"
    accounts.update_user(db_session, other, role="lecteur", region_code=None, name="", active=True)
    assert other.role == "lecteur"


@sqlite_only
def test_ensure_admin_creates_once(db_session: Any) -> None:
    # The test database has an admin already: nothing is created, no password is shown.
    existing = accounts.ensure_admin(db_session, email="autre@passeurs.local")
    assert existing.password is None and existing.email == USERS["admin"][0]
    admin = user(db_session, "admin")
    admin.role = "national"
    db_session.flush()
    created = accounts.ensure_admin(db_session, email="Premier@Passeurs.local")
    assert created.email == "premier@passeurs.local" and created.password
    first = db_session.scalar(select(User).where(User.email == "premier@passeurs.local"))
    assert first.must_change_password and accounts.verify_password(first.password_hash, created.password)
    assert accounts.ensure_admin(db_session).password is None


# --- authentication and throttling ------------------------------------------------------------


def test_authenticate(db_session: Any) -> None:
    found = accounts.authenticate(db_session, " IDF@test.fr ", PASSWORD, ip=IP)
    assert found.email == USERS["idf"][0] and found.last_login_at is not None
    db_session.commit()
    for email, password in ((USERS["idf"][0], "mauvais-mot-de-passe"), ("personne@test.fr", PASSWORD)):
        with pytest.raises(accounts.AuthError) as refused:
            accounts.authenticate(db_session, email, password, ip=IP)
        assert refused.value.message == "Adresse e-mail ou mot de passe incorrect."
        assert refused.value.status == 401
    attempts = db_session.scalars(select(LoginAttempt.success).order_by(LoginAttempt.id)).all()
    assert attempts == [True, False, False]


@sqlite_only
def test_disabled_or_passwordless_account_cannot_authenticate(db_session: Any) -> None:
    idf = user(db_session, "idf")
    idf.active = False
    accounts.create_user(db_session, email="sans-mdp@test.fr", role="national")
    db_session.commit()
    for email in (USERS["idf"][0], "sans-mdp@test.fr"):
        with pytest.raises(accounts.AuthError):
            accounts.authenticate(db_session, email, PASSWORD, ip=IP)
    with pytest.raises(accounts.AuthError):
        accounts.authenticate(db_session, "sans-mdp@test.fr", "", ip=IP)


def test_throttle_per_email_then_window_expires(db_session: Any) -> None:
    for _ in range(accounts.MAX_FAILURES_PER_EMAIL):
        with pytest.raises(accounts.AuthError):
            accounts.authenticate(db_session, USERS["paca"][0], "mauvais-mot-de-passe", ip=IP)
    with pytest.raises(accounts.Throttled) as throttled:
        accounts.authenticate(db_session, USERS["paca"][0], PASSWORD, ip="198.51.100.7")
    assert throttled.value.status == 429 and "Réessayez dans quelques minutes" in throttled.value.message
    # Once the failures are older than the window, the right password works again.
    old = utcnow() - accounts.THROTTLE_WINDOW - dt.timedelta(seconds=5)
    for attempt in db_session.scalars(select(LoginAttempt)):
        attempt.at = old
    db_session.commit()
    assert accounts.authenticate(db_session, USERS["paca"][0], PASSWORD, ip=IP).email == USERS["paca"][0]


def test_throttle_is_shared_by_separate_connections(database_url: str, db_session: Any) -> None:
    # Two engines = two worker processes' connection pools; the count lives in the database.
    other_engine = make_engine(database_url)
    try:
        with make_session_factory(other_engine)() as other:
            for _ in range(accounts.MAX_FAILURES_PER_EMAIL):
                with pytest.raises(accounts.AuthError):
                    accounts.authenticate(other, USERS["lecteur"][0], "mauvais-mot-de-passe", ip=IP)
                other.commit()  # the login view commits a refusal before answering
        with pytest.raises(accounts.Throttled):
            accounts.authenticate(db_session, USERS["lecteur"][0], PASSWORD, ip=IP)
    finally:
        other_engine.dispose()


@sqlite_only
def test_throttle_per_ip(db_session: Any) -> None:
    for i in range(accounts.MAX_FAILURES_PER_IP):
        with pytest.raises(accounts.AuthError):
            accounts.authenticate(db_session, f"essai{i}@test.fr", "mauvais-mot-de-passe", ip=IP)
    with pytest.raises(accounts.Throttled):
        accounts.authenticate(db_session, USERS["national"][0], PASSWORD, ip=IP)
    assert accounts.authenticate(db_session, USERS["national"][0], PASSWORD, ip="198.51.100.8")


# --- server-side sessions ---------------------------------------------------------------------


def test_sessions_open_revoke_expire(db_session: Any) -> None:
    idf = user(db_session, "idf")
    first = accounts.open_session(db_session, idf, ip=IP, user_agent="navigateur " * 100)
    second = accounts.open_session(db_session, idf, ip=IP)
    db_session.flush()
    assert first != second and len(first) >= 40
    assert accounts.load_session_user(db_session, first) is idf
    assert accounts.load_session_user(db_session, "inconnu") is None
    assert accounts.load_session_user(db_session, None) is None
    assert len(db_session.get(UserSession, first).user_agent) == 300

    accounts.revoke_session(db_session, first)
    db_session.flush()
    db_session.expire_all()
    assert accounts.load_session_user(db_session, first) is None
    assert accounts.load_session_user(db_session, second) is not None

    row = db_session.get(UserSession, second)
    row.last_seen_at = utcnow() - accounts.SESSION_IDLE_TIMEOUT - dt.timedelta(minutes=1)
    db_session.commit()
    assert accounts.load_session_user(db_session, second) is None, "idle sessions expire"


@sqlite_only
def test_activity_refreshes_the_idle_clock(db_session: Any) -> None:
    idf = user(db_session, "idf")
    sid = accounts.open_session(db_session, idf)
    db_session.flush()
    row = db_session.get(UserSession, sid)
    row.last_seen_at = utcnow() - dt.timedelta(hours=2)
    db_session.commit()
    assert accounts.load_session_user(db_session, sid) is idf
    db_session.commit()
    db_session.expire_all()
    seen = db_session.get(UserSession, sid).last_seen_at
    seen = seen if seen.tzinfo else seen.replace(tzinfo=dt.UTC)
    assert utcnow() - seen < dt.timedelta(minutes=1)


def test_set_password_ends_every_session(db_session: Any) -> None:
    idf = user(db_session, "idf")
    sids = [accounts.open_session(db_session, idf) for _ in range(3)]
    db_session.flush()
    accounts.set_password(db_session, idf, "Nouvelle-phrase-de-passe-solide", must_change=True)
    db_session.commit()
    db_session.expire_all()
    assert [accounts.load_session_user(db_session, sid) for sid in sids] == [None, None, None]
    assert idf.must_change_password is True
    assert accounts.verify_password(idf.password_hash, "Nouvelle-phrase-de-passe-solide")
    assert db_session.scalar(select(AuditEvent).where(AuditEvent.action == "user.password")) is not None


# --- API tokens -------------------------------------------------------------------------------


def test_tokens(db_session: Any) -> None:
    idf, paca = user(db_session, "idf"), user(db_session, "paca")
    token, plaintext = accounts.create_token(db_session, idf, "  export  ")
    db_session.commit()
    assert token.name == "export" and plaintext.startswith("pi_") and token.prefix == plaintext[:10]
    assert plaintext not in (token.token_hash, token.prefix + "x") and len(token.token_hash) == 64
    assert accounts.authenticate_token(db_session, plaintext) is idf
    assert token.last_used_at is not None
    for wrong in ("", plaintext[:-1], plaintext + "x", "pi_" + "a" * 300):
        assert accounts.authenticate_token(db_session, wrong) is None
    with pytest.raises(NotFound):
        accounts.revoke_token(db_session, paca, token.id)
    assert accounts.authenticate_token(db_session, plaintext) is idf
    accounts.revoke_token(db_session, idf, token.id)
    db_session.commit()
    assert accounts.authenticate_token(db_session, plaintext) is None
    with pytest.raises(ValidationError):
        accounts.create_token(db_session, idf, "   ")
    actions = db_session.scalars(select(AuditEvent.action).where(AuditEvent.object_type == "token")).all()
    assert actions == ["token.create", "token.revoke"]
    assert db_session.scalar(select(func.count()).select_from(ApiToken)) == 1
