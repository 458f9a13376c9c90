"""Bounds of the Word template engine, and where its data lives."""

from __future__ import annotations

from pathlib import Path

# --------------------------------------------------------------------------- limits

#: Wall-clock limit of one render or analysis, in seconds (worker start included).
DEFAULT_TIMEOUT = 10.0
#: Largest rendered XML (characters, per part) and largest resulting .docx (bytes).
DEFAULT_MAX_BYTES = 20 * 1024 * 1024
#: Address-space limit of the worker process.
DEFAULT_MAX_MEMORY = 768 * 1024 * 1024
#: Longest string or list a template may build with ``*`` (e.g. ``'-' * 40`` is fine).
MAX_REPEAT_LENGTH = 100_000
#: Limits on the uploaded package itself, checked before any XML is parsed.
#: (the zip-bomb bounds are those of every zip: documents.ziplimits).
MAX_TEMPLATE_BYTES = 20 * 1024 * 1024
#: Longest text accepted for one field.
MAX_TEXT_LENGTH = 20_000

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
CATALOGUE_PATH = DATA_DIR / "fields.json"
_PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent
