"""Helpers shared by the search tests of the web layer: archive real .docx files, drain the outbox."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import samplefiles as sf
import testkit
from documents import archive
from documents.models import Document
from documents.storage import LocalStorage


def archive_doc(app: Any, session: Any, title: str, paragraphs: list[str], *, region: str | None = "11",
                who: str = "admin", **meta: Any) -> Document:
    """File a real .docx through the domain verb (this leaves an outbox row, like any change)."""
    folder = Path(app.config["DATA_DIR"]) / "in" / uuid.uuid4().hex
    path = sf.write_sample(folder / "document.docx", sf.make_docx(paragraphs))
    doc = archive.archive_document(session, LocalStorage(app.config["STORAGE_DIR"]),
                                   actor=testkit.user(session, who), path=path, filename=f"{title[:40]}.docx",
                                   meta=archive.Metadata(title=title, region_code=region, **meta))
    session.commit()  # the test is the edge of this change
    return doc


def drain(app: Any) -> Any:
    """Apply the outbox now (what the indexer process does every second)."""
    from intranet.search.views import sync_drain

    with app.app_context():
        return sync_drain(app)


def close_index(app: Any) -> None:
    """Close the app's cached searchers (open files) at the end of a test."""
    from intranet.search.views import reset_index

    reset_index(app)
