"""PDF renditions of drafts (LibreOffice)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

from documents.drafting.errors import DraftingError
from documents.drafting.templates import read_bytes
from documents.models import (
    DocumentVersion,
)
from documents.storage import Storage

# --------------------------------------------------------------------------- PDF


def pdf_available() -> bool:
    """True when LibreOffice (``soffice``) is installed."""
    return shutil.which("soffice") is not None


def convert_to_pdf(docx: bytes, *, timeout: float = 120.0) -> bytes:
    """Convert a .docx to PDF with ``soffice --headless --convert-to pdf`` (own profile, bounded time)."""
    binary = shutil.which("soffice")
    if binary is None:
        raise DraftingError("LibreOffice n'est pas installé : le PDF ne peut pas être produit.", status=503)
    with tempfile.TemporaryDirectory(prefix="pdf-") as tmp:
        work = Path(tmp)
        source = work / "brouillon.docx"
        source.write_bytes(docx)
        # A private profile per run: two soffice processes sharing one profile block each other.
        profile = (work / "profil").as_uri()
        command = [binary, f"-env:UserInstallation={profile}", "--headless", "--norestore",
                   "--convert-to", "pdf", "--outdir", str(work), str(source)]
        try:
            subprocess.run(command, cwd=work, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=timeout, check=False,
                           env={"PATH": os.environ.get("PATH", os.defpath), "HOME": str(work),
                                "LANG": "C.UTF-8"})
        except subprocess.TimeoutExpired:
            raise DraftingError(f"La conversion en PDF a dépassé {timeout:g} secondes.", status=503) from None
        target = work / "brouillon.pdf"
        if not target.is_file():
            raise DraftingError("LibreOffice n'a pas pu convertir le brouillon en PDF.", status=500)
        return target.read_bytes()


def rendition_path(rendition_dir: Path, version: DocumentVersion) -> Path:
    """Where the PDF rendition of a version lives (derived data, outside the archive's store)."""
    return Path(rendition_dir) / version.sha256[:2] / f"{version.sha256}.pdf"


def make_pdf_rendition(storage: Storage, version: DocumentVersion, rendition_dir: Path) -> Path:
    """Produce (once) the PDF rendition of a generated version and return its path."""
    target = rendition_path(rendition_dir, version)
    if target.is_file():
        return target
    pdf = convert_to_pdf(read_bytes(storage, version))
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(f".{uuid.uuid4().hex}.tmp")
    tmp.write_bytes(pdf)
    os.replace(tmp, target)
    return target
