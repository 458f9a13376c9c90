"""The Flask web layer of the Passeurs d'images intranet."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask

from intranet.config import ConfigError, deploy_problems, load_config

ROOT = Path(__file__).resolve().parent.parent


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Application factory: settings, extensions, blueprints, error handlers, commands."""
    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
        instance_relative_config=False,
    )
    configure(app, test_config)
    register_extensions(app)
    register_guards(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_commands(app)
    register_unit_of_work(app)
    return app


def configure(app: Flask, test_config: dict[str, Any] | None) -> None:
    """Load settings from the environment, then the test overrides; refuse unsafe production."""
    app.config.from_mapping(load_config())
    if test_config:
        app.config.from_mapping(test_config)
    for key in ("DATA_DIR", "STORAGE_DIR", "INDEX_DIR", "MAIL_OUTBOX_DIR"):
        Path(app.config[key]).mkdir(parents=True, exist_ok=True)
    if app.config["ENV_NAME"] == "production":
        problems = deploy_problems(app.config)
        if problems:
            raise ConfigError(
                "Configuration de production refusée :\n- " + "\n- ".join(problems)
            )
    if app.config.get("TRUSTED_PROXIES"):
        from werkzeug.middleware.proxy_fix import ProxyFix

        n = int(app.config["TRUSTED_PROXIES"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]  # werkzeug's documented way to wrap the WSGI app


def register_extensions(app: Flask) -> None:
    """Bind the database, login manager and CSRF protection."""
    from intranet import auth
    from intranet.extensions import csrf, db, login_manager

    db.init_app(app)
    csrf.init_app(app)
    login_manager.init_app(app)
    auth.init_login(login_manager)
    from intranet import web

    web.init_app(app)
    from documents import extraction

    # Uploads and the API extract through this process's pool of bounded workers.
    extraction.configure(app.config["EXTRACTION_SETTINGS"])


def register_guards(app: Flask) -> None:
    """Bounded ``<id:…>`` URL parts and the NUL / request-line guards, before any route exists."""
    from intranet import guards

    guards.register_converters(app)
    guards.init_app(app)


def register_blueprints(app: Flask) -> None:
    """One blueprint per feature."""
    from intranet.admin import bp as admin_bp
    from intranet.agreements import bp as agreements_bp
    from intranet.api import bp as api_bp
    from intranet.auth import bp as auth_bp
    from intranet.committees import bp as committees_bp
    from intranet.drafting import bp as drafting_bp
    from intranet.extensions import csrf
    from intranet.library import bp as library_bp
    from intranet.main import bp as main_bp
    from intranet.reference import bp as reference_bp
    from intranet.search import bp as search_bp
    from intranet.signatures import bp as signatures_bp

    app.register_blueprint(main_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(admin_bp, url_prefix="/admin")
    app.register_blueprint(reference_bp, url_prefix="/referentiel")
    app.register_blueprint(library_bp, url_prefix="/documents")
    app.register_blueprint(search_bp, url_prefix="/recherche")
    app.register_blueprint(drafting_bp, url_prefix="/modeles")
    app.register_blueprint(committees_bp, url_prefix="/comites")
    app.register_blueprint(agreements_bp)
    app.register_blueprint(signatures_bp, url_prefix="/signatures")
    # The API checks CSRF itself for cookie sessions; token calls need none.
    csrf.exempt(api_bp)
    app.register_blueprint(api_bp, url_prefix="/api/v1")


def register_errorhandlers(app: Flask) -> None:
    """French error pages, JSON under /api."""
    from intranet import web

    web.register_errorhandlers(app)


def register_unit_of_work(app: Flask) -> None:
    """The request is the unit of work: committed if it answers < 400, rolled back otherwise."""
    from intranet.extensions import db

    db.register_unit_of_work(app)


def register_commands(app: Flask) -> None:
    """Attach the ``intranet`` CLI commands to ``flask``."""
    from intranet.cli import register

    register(app)
