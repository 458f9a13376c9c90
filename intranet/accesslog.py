"""A gunicorn logger that keeps secrets out of the access log: no password or token in any log.

Personal calendar and Atom feed URLs carry their token in the path, because calendar
clients cannot send headers; the access log must not keep those tokens.
"""

from __future__ import annotations

import re
from typing import Any

from gunicorn.glogging import Logger

#: Path segments that are secrets: what follows these prefixes is replaced.
_SECRET_PATHS = re.compile(r"(/comites/(?:agenda|flux)/|/documents/echeances/flux/)[^/?\s]+")
_SECRET_QUERY = re.compile(r"((?:^|[?&])(?:token|jeton)=)[^&\s]+", re.IGNORECASE)


def redact(text: str) -> str:
    """Replace feed tokens in a request line, path or query string with ``***``."""
    return _SECRET_QUERY.sub(r"\1***", _SECRET_PATHS.sub(r"\1***", text))


class RedactingLogger(Logger):
    """gunicorn's logger, with request paths and query strings redacted."""

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        atoms = super().atoms(resp, req, environ, request_time)
        # Every string atom: the request line, path, query, referer and environ copies.
        return {key: redact(value) if isinstance(value, str) else value for key, value in atoms.items()}
