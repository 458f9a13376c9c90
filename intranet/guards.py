"""Input guards shared by every route: bounded ids in URLs, no NUL byte, no endless request line.

Whatever a client sends, the answer is a French 4xx, never a 500: a path id beyond
PostgreSQL's ``integer`` does not match any route (404), a NUL byte anywhere in the text of
a request is refused (400) before any view or verb sees it, and an overlong request line
gets a French 414.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Flask, abort, request
from werkzeug.routing import IntegerConverter, Map

from documents.bounds import MAX_ID, has_nul

#: Longest request line (method, path and query) accepted; gunicorn's default limit is 4094.
MAX_REQUEST_LINE = 4094
#: JSON bodies larger than this are not scanned for NUL here (the views refuse them anyway).
_MAX_SCANNED_BODY = 2 * 1024 * 1024
_FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")
NUL_MESSAGE = "La requête contient un caractère nul (\\0), refusé."


def bounded_digits(limit: int) -> str:
    """A regular expression matching exactly the decimal numbers 1 to ``limit`` (no leading zero)."""
    text = str(limit)
    # Shorter numbers: any, then numbers as long as the limit, digit by digit below it.
    parts = [rf"[1-9]\d{{0,{len(text) - 2}}}"] if len(text) > 1 else []
    for i, digit in enumerate(text):
        low = "1" if i == 0 else "0"
        high = int(digit) - 1
        if high >= int(low):
            rest = len(text) - i - 1
            parts.append(text[:i] + f"[{low}-{high}]" + (rf"\d{{{rest}}}" if rest else ""))
    parts.append(text)
    return "(?:" + "|".join(parts) + ")"


class IdConverter(IntegerConverter):
    """``<id:name>``: a row id from 1 to 2³¹ − 1; anything else is no route at all (404).

    The bound is in the regular expression, not only in ``to_python``: werkzeug answers 405
    when a path matches the pattern of a rule with other methods, even if its value is then
    refused, and an id out of range must be a plain 404.
    """

    regex = bounded_digits(MAX_ID)

    def __init__(self, map: Map) -> None:  # noqa: A002 - werkzeug's signature
        super().__init__(map, min=1, max=MAX_ID)


def register_converters(app: Flask) -> None:
    """Declare ``<id:…>`` before any blueprint adds its rules."""
    app.url_map.converters["id"] = IdConverter


def init_app(app: Flask) -> None:
    """Run the guards before every request, ahead of authentication and the views."""
    app.before_request(refuse_bad_input)


def refuse_bad_input() -> None:
    """400 on a NUL byte in the path, query, headers, form or JSON; 414 on an overlong request line."""
    raw_uri = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI") or request.full_path
    if len(request.method) + len(raw_uri) + 10 > MAX_REQUEST_LINE:
        abort(414)
    if _request_has_nul():
        abort(400, NUL_MESSAGE)


def _request_has_nul() -> bool:
    if "\x00" in request.path or "%00" in request.query_string.decode("latin-1"):
        return True
    if has_nul(list(request.args.lists())) or has_nul(dict(request.cookies)):
        return True
    if any("\x00" in value for _name, value in request.headers.items()):
        return True
    if request.mimetype in _FORM_TYPES:
        # Uploaded file names are not checked: the archive keeps them as metadata only, cleaned
        # (hostile names are kept as metadata only), so a NUL in a name found on someone's disk
        # does not block its filing.
        return has_nul(list(request.form.lists())) or any(has_nul(name) for name in request.files)
    return _json_has_nul()


def _json_has_nul() -> bool:
    # Some endpoints read JSON whatever the Content-Type: look at any small non-form body.
    length = request.content_length
    if length is None and request.environ.get("HTTP_TRANSFER_ENCODING", "").lower() != "chunked":
        return False
    if length is not None and (length == 0 or length > _MAX_SCANNED_BODY):
        return False
    data = request.get_data(cache=True)
    if b"\x00" in data:
        return True
    if b"\\u0000" not in data:
        return False
    try:
        parsed: Any = json.loads(data)
    except ValueError:
        return False
    return has_nul(parsed)
