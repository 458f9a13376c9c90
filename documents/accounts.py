"""Account operations: users, passwords, login sessions, throttling and API tokens."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import func, select, text, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from documents import audit
from documents.db import utcnow
from documents.errors import DomainError, NotFound, ValidationError
from documents.models import ApiToken, LoginAttempt, Region, Role, User, UserSession
from documents.tokens import new_token, token_hash

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024
#: Minimum zxcvbn score (0–4): 3 means « safely unguessable » against an online attack.
MIN_PASSWORD_SCORE = 3
#: Failed attempts allowed per e-mail, and per IP address, in the window below.
MAX_FAILURES_PER_EMAIL = 5
MAX_FAILURES_PER_IP = 30
THROTTLE_WINDOW = dt.timedelta(minutes=15)
#: A login session ends after this much inactivity, whatever the cookie says.
SESSION_IDLE_TIMEOUT = dt.timedelta(hours=8)

#: Production argon2id costs (above OWASP's minimum of 19 MiB and 2 passes).
HASH_TIME_COST = 3
HASH_MEMORY_COST_KIB = 64 * 1024
HASH_PARALLELISM = 2


def make_hasher(*, time_cost: int = HASH_TIME_COST, memory_cost: int = HASH_MEMORY_COST_KIB) -> PasswordHasher:
    """An argon2id hasher (the library default type, stated explicitly) with the given costs."""
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=HASH_PARALLELISM,
                          type=Type.ID)


_hasher = make_hasher()
_dummy_hash: str | None = None


def _unknown_user_hash() -> str:
    # Verified against when the e-mail is unknown, so both failures take the same time.
    # Made on first need: hashing at import would slow every CLI call and worker start.
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = _hasher.hash("compte-inexistant-" + "x" * 20)
    return _dummy_hash


def configure_hasher(*, time_cost: int, memory_cost: int) -> None:
    """Change the argon2id costs (the test suite lowers them to stay fast)."""
    global _hasher, _dummy_hash
    _hasher = make_hasher(time_cost=time_cost, memory_cost=memory_cost)
    _dummy_hash = None


class AuthError(DomainError):
    """Login refused; the message never says whether the e-mail exists."""

    status = 401


class Throttled(DomainError):
    """Too many failed logins."""

    status = 429


@lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    path = Path(__file__).with_name("data") / "common_passwords.txt"
    words = path.read_text(encoding="utf-8").split()
    return frozenset(w.strip().lower() for w in words if w.strip())


@lru_cache(maxsize=1)
def _french_words() -> list[str]:
    path = Path(__file__).with_name("data") / "french_passwords.txt"
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.strip().lower() for line in lines if line.strip() and not line.startswith("#")]


@lru_cache(maxsize=1)
def _strength_estimator() -> Any:
    # zxcvbn knows English words and QWERTY walks only: French words, our common list and
    # AZERTY rows are added once as extra frequency lists (its public extension point).
    from zxcvbn import matching, zxcvbn

    matching.add_frequency_lists({
        "french": _french_words(),
        "common_fr": sorted(_common_passwords()),
    })
    return zxcvbn


def password_strength(password: str, user_inputs: list[str]) -> int:
    """zxcvbn score from 0 (guessed at once) to 4, knowing French words and AZERTY rows."""
    # zxcvbn refuses more than 72 characters; a longer password is scored by its start.
    return int(_strength_estimator()(password[:72], user_inputs=user_inputs)["score"])


def password_problems(password: str, *, email: str = "", name: str = "") -> list[str]:
    """Return French reasons why ``password`` is refused (empty list when it is fine)."""
    problems: list[str] = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(
            f"Le mot de passe doit compter au moins {MIN_PASSWORD_LENGTH} caractères."
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        problems.append(f"Le mot de passe ne doit pas dépasser {MAX_PASSWORD_LENGTH} caractères.")
    lowered = password.lower()
    if lowered in _common_passwords() or len(set(password)) <= 2:
        problems.append("Ce mot de passe est trop courant : choisissez-en un autre.")
    local = email.split("@", 1)[0].lower()
    if len(local) >= 4 and local in lowered:
        problems.append("Le mot de passe ne doit pas contenir votre adresse e-mail.")
    if not problems and MIN_PASSWORD_LENGTH <= len(password):
        inputs = [email, local, *local.replace("-", ".").replace("_", ".").split("."), *name.split(),
                  "passeurs", "images", "intranet"]
        if password_strength(password, [i for i in inputs if i]) < MIN_PASSWORD_SCORE:
            problems.append("Ce mot de passe est trop facile à deviner (mots courants, suites de touches "
                            "comme « azerty », répétitions) : allongez-le ou mêlez plusieurs mots peu "
                            "courants.")
    return problems


def hash_password(password: str) -> str:
    """Hash with argon2id."""
    return _hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    """Check ``password`` against an argon2 hash; False on any mismatch or bad hash."""
    try:
        return _hasher.verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def normalise_email(email: str) -> str:
    """Lower-case and strip an e-mail address."""
    return email.strip().lower()


def _check_role_region(session: Session, role: str, region_code: str | None) -> str | None:
    try:
        role_enum = Role(role)
    except ValueError:
        raise ValidationError(
            "Rôle inconnu.", errors={"role": "Choisissez administrateur, national, régional ou lecteur."}
        ) from None
    region_code = (region_code or "").strip() or None
    region = session.get(Region, region_code) if region_code is not None else None
    if region_code is not None and region is None:
        raise ValidationError("Région inconnue.", errors={"region": f"Aucune région n'a le code {region_code}."})
    if region is not None and region.successor_code is not None:
        # A user belongs to a current region, and so sees its predecessors' records.
        successor = session.get(Region, region.successor_code)
        hint = f"{successor.name} ({successor.code})" if successor is not None else region.successor_code
        raise ValidationError(
            f"La région {region.name} n'existe plus depuis 2016 : choisissez {hint}.",
            errors={"region": f"Région close : choisissez {hint}, qui couvre ses dossiers."},
        )
    if role_enum is Role.REGIONAL and region_code is None:
        raise ValidationError(
            "Un compte d'équipe régionale doit avoir une région.",
            errors={"region": "Choisissez la région de ce compte."},
        )
    if role_enum in (Role.ADMIN, Role.NATIONAL):
        region_code = None
    return region_code


def create_user(
    session: Session,
    *,
    email: str,
    role: str,
    region_code: str | None = None,
    name: str = "",
    password: str | None = None,
    must_change_password: bool = False,
    actor: User | None = None,
) -> User:
    """Create an account; ``password`` is checked against the policy."""
    email = normalise_email(email)
    if "@" not in email or len(email) > 254 or any(c.isspace() for c in email):
        raise ValidationError("Adresse e-mail invalide.", errors={"email": "Saisissez une adresse e-mail valide."})
    if session.scalar(select(User).where(User.email == email)) is not None:
        raise ValidationError("Ce compte existe déjà.", errors={"email": "Un compte utilise déjà cette adresse."})
    region_code = _check_role_region(session, role, region_code)
    user = User(email=email, role=role, region_code=region_code, name=name.strip()[:200])
    if password is not None:
        problems = password_problems(password, email=email, name=name)
        if problems:
            raise ValidationError(problems[0], errors={"password": " ".join(problems)})
        user.password_hash = hash_password(password)
        user.password_changed_at = utcnow()
    user.must_change_password = must_change_password
    session.add(user)
    session.flush()
    audit.record(session, "user.create", actor=actor, object_type="user", object_id=user.id,
                 region_code=region_code, details={"email": email, "role": role})
    return user


def update_user(
    session: Session,
    user: User,
    *,
    role: str,
    region_code: str | None,
    name: str,
    active: bool,
    actor: User | None = None,
) -> User:
    """Change an account's role, region, name or active flag; an admin cannot demote or disable themself."""
    if actor is not None and actor.id == user.id and user.role == Role.ADMIN.value and (
            role != Role.ADMIN.value or not active):
        # Otherwise the last administrator could lock everyone out of the admin pages.
        raise ValidationError(
            "Vous ne pouvez pas retirer vos propres droits d'administrateur.",
            errors={"role": "Vous ne pouvez pas retirer vos propres droits d'administrateur."},
        )
    region_code = _check_role_region(session, role, region_code)
    was_active = user.active
    user.role, user.region_code, user.name, user.active = role, region_code, name.strip()[:200], active
    if was_active and not active:
        revoke_all_sessions(session, user)
    audit.record(session, "user.update", actor=actor, object_type="user", object_id=user.id,
                 region_code=region_code, details={"role": role, "active": active})
    return user


def set_password(
    session: Session, user: User, new_password: str, *, actor: User | None = None,
    must_change: bool = False,
) -> None:
    """Set a new password and end every open session of that user."""
    problems = password_problems(new_password, email=user.email, name=user.name or "")
    if problems:
        raise ValidationError(problems[0], errors={"password": " ".join(problems)})
    user.password_hash = hash_password(new_password)
    user.password_changed_at = utcnow()
    user.must_change_password = must_change
    revoke_all_sessions(session, user)
    audit.record(session, "user.password", actor=actor or user, object_type="user", object_id=user.id)


def generate_password() -> str:
    """A random password that satisfies the policy (for one-time passwords)."""
    return secrets.token_urlsafe(15)


def _recent_failures(session: Session, column: InstrumentedAttribute[str], value: str, now: dt.datetime) -> int:
    since = now - THROTTLE_WINDOW
    return session.scalar(
        select(func.count(LoginAttempt.id)).where(
            column == value, LoginAttempt.at >= since, LoginAttempt.success.is_(False)
        )
    ) or 0


def _lock_throttle_keys(session: Session, email: str, ip: str) -> None:
    # Count-then-insert is only exact if attempts on the same e-mail or IP take turns: without
    # this, 12 simultaneous guesses all counted 0..4 failures and 7 were checked against a limit
    # of 5. The lock lasts until the caller's commit, i.e. across the password check.
    if session.get_bind().dialect.name == "postgresql":
        # Transaction-scoped advisory locks, e-mail first then IP, always in that order (no deadlock).
        for key in (f"login-email:{email}", f"login-ip:{ip}"):
            session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": key})
    else:
        # SQLite has one writer at a time: a write that changes nothing takes that lock now.
        session.execute(text("UPDATE login_attempt SET id = id WHERE id = -1"))


def authenticate(session: Session, email: str, password: str, *, ip: str) -> User:
    """Check credentials, throttled per e-mail and per IP in the database.

    The database is shared by every gunicorn worker, so the limit holds across them; concurrent
    attempts on one e-mail or IP are serialised so that none escapes the count.
    """
    email = normalise_email(email)[:254]
    ip = ip[:64]
    _lock_throttle_keys(session, email, ip)
    now = utcnow()
    if (
        _recent_failures(session, LoginAttempt.email, email, now) >= MAX_FAILURES_PER_EMAIL
        or _recent_failures(session, LoginAttempt.ip, ip, now) >= MAX_FAILURES_PER_IP
    ):
        audit.record(session, "login", actor_email=email, outcome="throttled", ip=ip)
        session.flush()
        raise Throttled(
            "Trop de tentatives de connexion. Réessayez dans quelques minutes.", status=429
        )
    user = session.scalar(select(User).where(User.email == email))
    ok = verify_password(user.password_hash if user and user.password_hash else _unknown_user_hash(), password)
    ok = ok and user is not None and user.active
    session.add(LoginAttempt(email=email, ip=ip, at=now, success=ok))
    if not ok:
        audit.record(session, "login", actor_email=email, outcome="failed", ip=ip)
        session.flush()
        raise AuthError("Adresse e-mail ou mot de passe incorrect.")
    assert user is not None
    user.last_login_at = now
    audit.record(session, "login", actor=user, ip=ip)
    return user


def open_session(session: Session, user: User, *, ip: str = "", user_agent: str = "") -> str:
    """Start a server-side login session and return its new random id."""
    sid = secrets.token_urlsafe(32)
    session.add(UserSession(id=sid, user_id=user.id, ip=ip[:64], user_agent=user_agent[:300]))
    return sid


def load_session_user(session: Session, sid: str | None) -> User | None:
    """Return the user of a live session, or None if it was revoked, expired or disabled."""
    if not sid:
        return None
    row = session.get(UserSession, sid)
    if row is None or row.revoked_at is not None or not row.user.active:
        return None
    now = utcnow()
    last_seen = row.last_seen_at
    if last_seen.tzinfo is None:  # SQLite hands back naive datetimes
        last_seen = last_seen.replace(tzinfo=dt.UTC)
    if now - last_seen > SESSION_IDLE_TIMEOUT:
        return None
    if now - last_seen > dt.timedelta(minutes=1):
        row.last_seen_at = now  # coarse, to avoid a write on every request
    user: User | None = row.user
    return user


def revoke_session(session: Session, sid: str | None) -> None:
    """End one login session (logout)."""
    if sid:
        session.execute(
            update(UserSession).where(UserSession.id == sid, UserSession.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )


def revoke_all_sessions(session: Session, user: User) -> None:
    """End every login session of ``user`` (password change, disabling)."""
    session.execute(
        update(UserSession).where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


def create_token(session: Session, user: User, name: str) -> tuple[ApiToken, str]:
    """Create an API token; the plaintext is returned once and never stored."""
    name = name.strip()[:100]
    if not name:
        raise ValidationError("Donnez un nom au jeton.", errors={"name": "Nom obligatoire."})
    issued = new_token("pi_")
    token = ApiToken(user_id=user.id, name=name, token_hash=issued.hash, prefix=issued.prefix)
    session.add(token)
    session.flush()
    audit.record(session, "token.create", actor=user, object_type="token", object_id=token.id,
                 details={"name": name})
    return token, issued.plaintext


def revoke_token(session: Session, user: User, token_id: int) -> None:
    """Revoke one of the user's own tokens."""
    token = session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        raise NotFound("Jeton introuvable.")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit.record(session, "token.revoke", actor=user, object_type="token", object_id=token.id)


def authenticate_token(session: Session, plaintext: str) -> User | None:
    """Return the active user owning a live token, or None."""
    if not plaintext or len(plaintext) > 200:
        return None
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash(plaintext)))
    if token is None or token.revoked_at is not None or not token.user.active:
        return None
    now = utcnow()
    if token.last_used_at is None or now - _aware(token.last_used_at) > dt.timedelta(minutes=5):
        token.last_used_at = now
    user: User | None = token.user
    return user


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


@dataclass(frozen=True)
class BootstrapResult:
    """Outcome of ``ensure_admin``: the password is set only when an account was created."""

    email: str
    password: str | None


def ensure_admin(session: Session, *, email: str = "admin@passeurs.local") -> BootstrapResult:
    """Create the first administrator with a one-time password if there is no admin yet."""
    existing = session.scalar(select(User).where(User.role == Role.ADMIN.value).limit(1))
    if existing is not None:
        return BootstrapResult(existing.email, None)
    password = generate_password()
    create_user(session, email=email, role=Role.ADMIN.value, name="Administrateur",
                password=password, must_change_password=True)
    return BootstrapResult(normalise_email(email), password)
