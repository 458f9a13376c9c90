"""Extensions, created unbound and bound to an app in ``create_app``."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, current_app, g
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect
from sqlalchemy.orm import Session, sessionmaker

from documents.db import make_engine, make_session_factory
from documents.storage import Storage
from documents.unitofwork import commit

login_manager = LoginManager()
csrf = CSRFProtect()


class Database:
    """One SQLAlchemy session per request (or app context): the request's unit of work, closed at teardown."""

    def init_app(self, app: Flask) -> None:
        """Create the engine for ``app.config['DATABASE_URL']``."""
        engine = make_engine(app.config["DATABASE_URL"])
        app.extensions["db_engine"] = engine
        app.extensions["db_factory"] = make_session_factory(engine)
        app.teardown_appcontext(self._teardown)

    def register_unit_of_work(self, app: Flask) -> None:
        """Commit or roll back each request; call it last, so that it runs first among the after_request hooks."""
        # Flask runs after_request hooks in reverse order of registration: registered after every
        # blueprint, the commit happens before any hook that reads the change from another session
        # (the SEARCH_SYNC drain of the search outbox).
        app.after_request(self._end_unit_of_work)

    @property
    def factory(self) -> sessionmaker[Session]:
        """The session factory of the current app."""
        return current_app.extensions["db_factory"]

    @property
    def session(self) -> Session:
        """The session of the current app context."""
        if "db_session" not in g:
            g.db_session = self.factory()
        return g.db_session

    @staticmethod
    def _end_unit_of_work(response: Response) -> Response:
        """The request is the unit of work: commit what its verbs flushed if it succeeded, else roll back."""
        session: Session | None = g.get("db_session")
        if session is not None:
            if response.status_code < 400:
                commit(session)
            else:
                # A refused request changes nothing; what must survive a refusal (a failed login,
                # a denial in the audit log) is committed by its view before answering.
                session.rollback()
        return response

    @staticmethod
    def _teardown(exc: BaseException | None) -> None:
        session: Any = g.pop("db_session", None)
        if session is not None:
            if exc is not None:
                session.rollback()
            session.close()


db = Database()


def storage() -> Storage:
    """The file store of the current app, behind the ``Storage`` interface (local folder by default)."""
    from documents.storage import LocalStorage

    if "storage" not in current_app.extensions:
        current_app.extensions["storage"] = LocalStorage(current_app.config["STORAGE_DIR"])
    return current_app.extensions["storage"]
