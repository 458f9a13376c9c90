"""Thumbnails of the first page of archived files: drawn by a bounded background worker, cached on disk.

- ``render``: the drawing itself (pdftoppm, LibreOffice → PDF, Pillow), in bounded child processes;
- ``queue``: the ``thumbnail_job`` table (enqueue, claim under a lease, finish, fail);
- ``worker``: the loop that ``intranet thumbnail-worker`` runs.
"""

from __future__ import annotations

from documents.thumbnails.render import THUMB_KINDS, ThumbnailError, make_thumbnail, thumbnail_path

__all__ = ["THUMB_KINDS", "ThumbnailError", "make_thumbnail", "thumbnail_path"]
