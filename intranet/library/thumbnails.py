"""The first-page thumbnail of a document, served with the document's own permission.

The image is drawn by the thumbnail worker (``intranet thumbnail-worker``), never here: until it
exists, or when it cannot be drawn, the route answers the file type's SVG icon, briefly cached
so that the thumbnail replaces it soon. A drawn thumbnail is named by the file's content hash:
templates add the hash to the address (``?v=``), so it can be cached for a long time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import current_app, send_file, url_for
from flask_login import login_required

from documents.models import Document, DocumentVersion
from documents.thumbnails.render import thumbnail_path
from intranet.library import bp
from intranet.library.views import _document

#: The icon shown for each kind until (or instead of) a thumbnail.
_ICONS = {"pdf": "pdf", "docx": "word", "doc": "word", "rtf": "word", "odt": "odt", "jpeg": "image",
          "png": "image", "tiff": "image", "txt": "texte"}
_STATIC = Path(__file__).resolve().parent.parent.parent / "static" / "img" / "types"


def icon_name(kind: str | None) -> str:
    """The file-type icon (``static/img/types/<name>.svg``) of a kind."""
    return _ICONS.get(kind or "", "fichier")


def thumbnail_folder() -> Path:
    """Where thumbnails are cached: ``thumbnails/`` in the data folder."""
    return Path(current_app.config["DATA_DIR"]) / "thumbnails"


def thumbnail_args(doc: Document) -> dict[str, Any]:
    """``url_for`` arguments of a document's thumbnail, with the file's hash to bust caches."""
    current: DocumentVersion | None = doc.current
    return {"document_id": doc.id, "v": current.sha256[:16] if current is not None else "0"}


@bp.app_template_global()
def thumbnail_url(doc: Document) -> str:
    """The address of a document's thumbnail (templates: ``<img src="{{ thumbnail_url(doc) }}">``)."""
    return url_for("library.thumbnail", **thumbnail_args(doc))


@bp.route("/<id:document_id>/vignette")
@login_required
def thumbnail(document_id: int) -> Any:
    """The first page of the current version, drawn small (PNG), or the file type's icon (SVG)."""
    doc = _document(document_id)
    current = doc.current
    if current is not None and not doc.in_trash:
        path = thumbnail_path(thumbnail_folder(), current.sha256)
        if path.is_file():
            response = send_file(path, mimetype="image/png", max_age=86400, conditional=True)
            response.cache_control.private = True
            response.cache_control.public = False
            return response
    response = send_file(_STATIC / f"{icon_name(current.kind if current else None)}.svg",
                         mimetype="image/svg+xml", max_age=30, conditional=True)
    response.cache_control.private = True
    response.cache_control.public = False
    return response
