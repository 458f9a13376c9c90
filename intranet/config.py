"""Settings from the environment, with safe development defaults."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

#: Marker of a key that was generated for development; production refuses it.
DEV_SECRET_FILE = "secret_key"
MIN_SECRET_LENGTH = 32
#: A random key uses many symbols; « changemechangeme… » uses seven.
MIN_SECRET_DISTINCT = 10
#: zxcvbn's estimate of the guesses needed, as a power of ten: 10^24 ≈ 80 bits.
MIN_SECRET_GUESSES_LOG10 = 24.0


def _bool(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "oui", "on"}


def data_dir_from_env(environ: dict[str, str] | None = None) -> Path:
    """The single data folder: ``INTRANET_DATA_DIR`` or ``./instance``."""
    environ = dict(os.environ) if environ is None else environ
    return Path(environ.get("INTRANET_DATA_DIR") or Path.cwd() / "instance").resolve()


def _dev_secret(data_dir: Path) -> str:
    # Generated once per data folder so that development sessions survive restarts.
    path = data_dir / DEV_SECRET_FILE
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(key)
    return key


def load_config(environ: dict[str, str] | None = None) -> dict[str, Any]:
    """Build the Flask configuration mapping from environment variables."""
    env = dict(os.environ) if environ is None else environ
    mode = (env.get("INTRANET_ENV") or "development").strip().lower()
    production = mode == "production"
    data_dir = data_dir_from_env(env)
    secret = env.get("SECRET_KEY") or ("" if production else _dev_secret(data_dir))
    database_url = env.get("DATABASE_URL") or f"sqlite:///{data_dir / 'intranet.sqlite3'}"
    max_upload_mb = int(env.get("INTRANET_MAX_UPLOAD_MB") or 50)
    return {
        "ENV_NAME": mode,
        "DEBUG": _bool(env.get("FLASK_DEBUG"), False),
        "TESTING": False,
        "SECRET_KEY": secret,
        "SECRET_KEY_IS_DEV": not env.get("SECRET_KEY"),
        "DATA_DIR": str(data_dir),
        "DATABASE_URL": database_url,
        "STORAGE_DIR": str(data_dir / "files"),
        "INDEX_DIR": str(data_dir / "index"),
        "MAIL_OUTBOX_DIR": str(data_dir / "mail"),
        "MAX_CONTENT_LENGTH": max_upload_mb * 1024 * 1024,
        "SESSION_COOKIE_NAME": "intranet_session",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _bool(env.get("SESSION_COOKIE_SECURE"), production),
        "PERMANENT_SESSION_LIFETIME": int(env.get("INTRANET_SESSION_HOURS") or 8) * 3600,
        # Remember-me is never offered; keep its cookie harmless anyway.
        "REMEMBER_COOKIE_DURATION": 0,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SECURE": _bool(env.get("SESSION_COOKIE_SECURE"), production),
        "WTF_CSRF_TIME_LIMIT": 8 * 3600,
        "WTF_CSRF_SSL_STRICT": production,
        "HSTS": production,
        "SMTP_HOST": env.get("SMTP_HOST", ""),
        "SMTP_PORT": int(env.get("SMTP_PORT") or 25),
        "SMTP_USER": env.get("SMTP_USER", ""),
        "SMTP_PASSWORD": env.get("SMTP_PASSWORD", ""),
        "SMTP_STARTTLS": _bool(env.get("SMTP_STARTTLS"), True),
        "MAIL_FROM": env.get("MAIL_FROM", "intranet@passeurs.local"),
        # "smtp" or "outbox" (files under <data>/mail); unset: SMTP when SMTP_HOST is given.
        "MAIL_BACKEND": env.get("MAIL_BACKEND", ""),
        # The mail worker: attempts before a message is given up, first retry delay (doubled each time).
        "MAIL_MAX_ATTEMPTS": int(env.get("MAIL_MAX_ATTEMPTS") or 8),
        "MAIL_RETRY_DELAY": float(env.get("MAIL_RETRY_DELAY") or 60),
        "BASE_URL": env.get("INTRANET_BASE_URL", "http://127.0.0.1:5000"),
        # Who answers accessibility requests (shown on « Déclaration d'accessibilité »).
        "ACCESSIBILITY_CONTACT": env.get("INTRANET_ACCESSIBILITY_CONTACT")
                                 or env.get("MAIL_FROM", "intranet@passeurs.local"),
        "TRUSTED_PROXIES": int(env.get("INTRANET_TRUSTED_PROXIES") or 0),
        "OCR_SETTINGS": _ocr_settings(env),
        "EXTRACTION_SETTINGS": _extraction_settings(env),
        "SEARCH_TIME_LIMIT": _search_time_limit(env),
    }


def _period(text: str) -> int:
    # Length of the shortest unit whose repetition gives ``text`` (its own length if none).
    for size in range(1, len(text) // 2 + 1):
        if len(text) % size == 0 and text[:size] * (len(text) // size) == text:
            return size
    return len(text)


def secret_key_weakness(secret: str) -> str | None:
    """Why a long enough key is still guessable (French, to follow « SECRET_KEY »), or None."""
    unit = _period(secret)
    if unit < len(secret):
        return f"répète le motif « {secret[:unit]} » : elle est trop prévisible"
    distinct = len(set(secret))
    if distinct < MIN_SECRET_DISTINCT:
        return (f"n'utilise que {distinct} caractères différents (il en faut au moins "
                f"{MIN_SECRET_DISTINCT}) : elle est trop prévisible")
    from zxcvbn import zxcvbn  # imported here: only check-deploy and the production start need it

    # zxcvbn estimates the guesses needed from words, keyboard walks, sequences and repeats;
    # it reads 72 characters at most, which is enough to judge a key.
    guesses_log10 = float(zxcvbn(secret[:72])["guesses_log10"])
    bits = int(guesses_log10 * 3.3219)
    if guesses_log10 < MIN_SECRET_GUESSES_LOG10:
        return (f"est trop prévisible (mots, suites ou répétitions : environ {bits} bits d'entropie "
                f"estimés, il en faut au moins {round(MIN_SECRET_GUESSES_LOG10 * 3.3219)})")
    return None


def _ocr_settings(env: dict[str, str]) -> Any:
    """OCR languages and bounds: ``INTRANET_OCR_LANGUAGES`` (fra+eng…), ``INTRANET_OCR_TIMEOUT`` (s/document)…"""
    from documents.ocr import engine
    from documents.ocr.worker import OcrSettings

    def number(name: str, default: float) -> float:
        return float(env.get(name) or default)

    try:
        languages = engine.check_languages(env.get("INTRANET_OCR_LANGUAGES") or engine.DEFAULT_LANGUAGES)
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    return OcrSettings(
        languages=languages,
        timeout=number("INTRANET_OCR_TIMEOUT", engine.DEFAULT_TIMEOUT),
        page_timeout=number("INTRANET_OCR_PAGE_TIMEOUT", engine.DEFAULT_PAGE_TIMEOUT),
        memory_mb=int(number("INTRANET_OCR_MEMORY_MB", engine.DEFAULT_MEMORY_MB)),
        max_pages=int(number("INTRANET_OCR_MAX_PAGES", engine.MAX_PAGES)),
        lease_s=number("INTRANET_OCR_LEASE", 60.0),
        interval=number("INTRANET_OCR_INTERVAL", 1.0),
    )


def _extraction_settings(env: dict[str, str]) -> Any:
    """Text extraction workers: ``INTRANET_EXTRACTION_WORKERS`` (0: one per CPU), ``INTRANET_EXTRACTION_MAX_FILES``."""
    from documents.extraction import DEFAULT_MAX_FILES, PoolSettings

    def count(name: str, default: int, minimum: int) -> int:
        raw = (env.get(name) or "").strip()
        if not raw:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise ConfigError(f"{name} doit être un nombre entier (reçu « {raw[:40]} »).") from None
        if not minimum <= value <= 1000:
            raise ConfigError(f"{name} doit être compris entre {minimum} et 1000 (reçu {value}).")
        return value

    return PoolSettings(workers=count("INTRANET_EXTRACTION_WORKERS", 0, 0),
                        max_files=count("INTRANET_EXTRACTION_MAX_FILES", DEFAULT_MAX_FILES, 1))


def _search_time_limit(env: dict[str, str]) -> float:
    """``INTRANET_SEARCH_TIME_LIMIT``: seconds a search may take before it is refused with a message (0.1 to 30)."""
    from documents.search import DEFAULT_TIME_LIMIT

    raw = (env.get("INTRANET_SEARCH_TIME_LIMIT") or "").strip().replace(",", ".")
    if not raw:
        return DEFAULT_TIME_LIMIT
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"INTRANET_SEARCH_TIME_LIMIT doit être un nombre de secondes (reçu « {raw[:40]} »).") from None
    if not 0.1 <= value <= 30:
        raise ConfigError(f"INTRANET_SEARCH_TIME_LIMIT doit être compris entre 0,1 et 30 secondes (reçu {raw[:40]}).")
    return value


def deploy_problems(config: dict[str, Any]) -> list[str]:
    """French list of what makes ``config`` unsafe for production (like ``check --deploy``)."""
    problems: list[str] = []
    secret = config.get("SECRET_KEY") or ""
    if not secret or config.get("SECRET_KEY_IS_DEV"):
        problems.append("SECRET_KEY n'est pas défini : fixez une clé secrète aléatoire dans l'environnement.")
    elif len(secret) < MIN_SECRET_LENGTH:
        problems.append(
            f"SECRET_KEY est trop courte ({len(secret)} caractères) : il en faut au moins {MIN_SECRET_LENGTH}."
        )
    elif secret.lower() in {"dev", "changeme", "secret", "change-me", "development"}:
        problems.append("SECRET_KEY a une valeur par défaut : choisissez une clé aléatoire.")
    else:
        weakness = secret_key_weakness(secret)
        if weakness:
            problems.append(f"SECRET_KEY {weakness} : générez-en une avec "
                            "« python -c 'import secrets; print(secrets.token_urlsafe(48))' ».")
    if not config.get("SESSION_COOKIE_SECURE"):
        problems.append("SESSION_COOKIE_SECURE doit valoir true en production (cookies HTTPS uniquement).")
    if not config.get("REMEMBER_COOKIE_SECURE"):
        problems.append("REMEMBER_COOKIE_SECURE doit valoir true en production.")
    if config.get("DEBUG"):
        problems.append("Le mode debug (FLASK_DEBUG) doit être désactivé en production.")
    if config.get("TESTING"):
        problems.append("Le mode test doit être désactivé en production.")
    return problems


class ConfigError(RuntimeError):
    """Raised at start-up when the production configuration is unsafe."""
