"""WSGI entry point for gunicorn: ``gunicorn wsgi:app``."""

from intranet import create_app
from intranet.logs import configure_logging

configure_logging()
app = create_app()
