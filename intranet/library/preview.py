"""Cached HTML previews of versions: made once per file content, in a bounded subprocess."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from flask import current_app

from documents import preview
from documents.models import DocumentVersion
from intranet.extensions import storage

#: Bump when the converter's output changes, so that old cached previews are not served.
CACHE_VERSION = "1"


def _cache_path(sha256: str) -> Path:
    return Path(current_app.config["DATA_DIR"]) / "previews" / sha256[:2] / f"{sha256}.v{CACHE_VERSION}.html"


def html_preview(version: DocumentVersion) -> str:
    """Sanitised HTML of a .docx/.odt version; raises ``preview.PreviewUnavailable``."""
    if version.kind not in preview.HTML_KINDS:
        raise preview.PreviewUnavailable("Pas d'aperçu HTML pour ce format : téléchargez le fichier.")
    cached = _cache_path(version.sha256)
    if cached.is_file():
        # Sanitised again on the way out: a cache file is only as trustworthy as the disk.
        return preview.sanitize(cached.read_text(encoding="utf-8"))
    html = preview.render_html(storage().local_path(version.sha256), version.kind)
    cached.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=cached.parent, prefix=".preview-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(html)
        os.replace(tmp, cached)
    except OSError:
        current_app.logger.warning("could not cache preview of %s", version.sha256)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return html


def forget(sha256: str) -> None:
    """Remove the cached previews of a content (after a purge removed its bytes)."""
    folder = Path(current_app.config["DATA_DIR"]) / "previews" / sha256[:2]
    for cached in folder.glob(f"{sha256}.v*.html"):
        cached.unlink(missing_ok=True)
