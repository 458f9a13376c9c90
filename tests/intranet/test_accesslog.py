"""The gunicorn access log never keeps a feed token: no secret in any log."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

from gunicorn.config import Config

from intranet.accesslog import RedactingLogger, redact


def test_redact_paths_and_query() -> None:
    assert redact("GET /comites/agenda/abcDEF123.ics HTTP/1.1") == "GET /comites/agenda/*** HTTP/1.1"
    assert redact("/comites/flux/tok_en-1/atom") == "/comites/flux/***/atom"
    assert redact("a=1&token=secret&b=2") == "a=1&token=***&b=2"
    assert redact("/documents/12") == "/documents/12"


def test_gunicorn_logger_atoms_are_redacted() -> None:
    logger = RedactingLogger(Config())
    req = SimpleNamespace(method="GET", path="/comites/agenda/SECRETTOKEN", query="token=SECRET2",
                          uri="/comites/agenda/SECRETTOKEN?token=SECRET2", version=(1, 1), headers=[])
    resp = SimpleNamespace(status="200 OK", sent=10, headers=[], response_length=10)
    environ = {"REMOTE_ADDR": "127.0.0.1", "RAW_URI": req.uri, "REQUEST_METHOD": "GET",
               "SERVER_PROTOCOL": "HTTP/1.1", "PATH_INFO": req.path, "QUERY_STRING": req.query}
    atoms = logger.atoms(resp, req, environ, dt.timedelta(seconds=0.01))
    rendered = " ".join(str(v) for v in atoms.values())
    assert "SECRETTOKEN" not in rendered and "SECRET2" not in rendered
    assert "/comites/agenda/***" in atoms["U"]
