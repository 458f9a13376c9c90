"""WSGI entry point for gunicorn: ``gunicorn wsgi:app``."""

from intranet import create_app

app = create_app()
