"""Drawing a thumbnail of a file's first page, bounded in time and memory, never in a web request.

PDF: ``pdftoppm`` draws page 1 only, scaled to the width and cropped to a maximum height.
.docx and .odt: LibreOffice (headless, private profile) converts to PDF first. Scans (JPEG,
PNG, TIFF): Pillow draws the first frame. Every drawing step runs in a child process with an
address-space and CPU limit (``python -m documents.thumbnails.render``) killed as a process
group at the time bound; LibreOffice itself reserves too much address space for a memory
limit and is bounded by time only. The result is checked again by the parent before it is
stored atomically under ``<folder>/<sha[:2]>/<sha>.png``.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import uuid
import warnings
from dataclasses import dataclass
from pathlib import Path

#: Kinds that get a thumbnail; the others keep their file-type icon.
THUMB_KINDS = frozenset({"pdf", "docx", "odt", "jpeg", "png", "tiff"})
IMAGE_KINDS = frozenset({"jpeg", "png", "tiff"})
OFFICE_KINDS = frozenset({"docx", "odt"})
#: Width of a thumbnail (px) and the tallest it may be (a very long page is cropped).
WIDTH = 160
MAX_HEIGHT = 320
#: Largest image Pillow opens (pixels), as the upload check allows.
MAX_PIXELS = 80_000_000
_ROOT = Path(__file__).resolve().parent.parent.parent


class ThumbnailError(Exception):
    """No thumbnail could be drawn; ``reason`` says why in French, ``retry`` whether it may work later."""

    def __init__(self, reason: str, *, retry: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry = retry


@dataclass(frozen=True)
class RenderSettings:
    """Bounds of one drawing (``INTRANET_THUMBNAIL_TIMEOUT`` and ``INTRANET_THUMBNAIL_MEMORY_MB``)."""

    timeout: float = 90.0
    memory_mb: int = 768
    width: int = WIDTH
    max_height: int = MAX_HEIGHT


def thumbnail_path(folder: str | os.PathLike[str], sha256: str) -> Path:
    """Where the thumbnail of the file ``sha256`` lives (the name is the content hash)."""
    if len(sha256) != 64 or not all(c in "0123456789abcdef" for c in sha256):
        raise ValueError("not a SHA-256")
    return Path(folder) / sha256[:2] / f"{sha256}.png"


def _clean_env(home: Path) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", os.defpath), "HOME": str(home), "LANG": "C.UTF-8",
            "PYTHONPATH": str(_ROOT)}


def _run(command: list[str], *, cwd: Path, timeout: float, what: str) -> None:
    """Run a command as its own process group; kill the whole group at the time bound."""
    process = subprocess.Popen(command, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, env=_clean_env(cwd), start_new_session=True)
    try:
        _, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        raise ThumbnailError(f"{what} interrompue après {timeout:g} s (document trop lourd).") from None
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    if process.returncode != 0:
        raise ThumbnailError(f"{what} impossible (fichier endommagé ou trop lourd).")


def _office_to_pdf(source: Path, kind: str, work: Path, timeout: float) -> Path:
    binary = shutil.which("soffice")
    if binary is None:
        raise ThumbnailError("LibreOffice n'est pas installé : pas de vignette pour ce format.", retry=False)
    copy = work / f"document.{kind}"
    shutil.copyfile(source, copy)
    # A private profile per run: two soffice processes sharing one profile block each other.
    profile = (work / "profil").as_uri()
    _run([binary, f"-env:UserInstallation={profile}", "--headless", "--norestore", "--convert-to", "pdf",
          "--outdir", str(work), str(copy)], cwd=work, timeout=timeout, what="Conversion en PDF")
    pdf = work / "document.pdf"
    if not pdf.is_file():
        raise ThumbnailError("LibreOffice n'a pas pu convertir le document en PDF.")
    return pdf


def make_thumbnail(source: Path, kind: str, target: Path, settings: RenderSettings | None = None) -> None:
    """Draw the first page of ``source`` (a ``kind`` file) as a small PNG at ``target`` (atomically)."""
    settings = settings or RenderSettings()
    if kind not in THUMB_KINDS:
        raise ThumbnailError("Pas de vignette pour ce format.")
    with tempfile.TemporaryDirectory(prefix="intranet-vignette-") as tmp:
        work = Path(tmp)
        drawn = work / "vignette.png"
        page_source, page_kind = source, kind
        if kind in OFFICE_KINDS:
            page_source, page_kind = _office_to_pdf(source, kind, work, settings.timeout), "pdf"
        _run([sys.executable, "-s", "-B", "-m", "documents.thumbnails.render", page_kind, str(page_source),
              str(drawn), str(settings.width), str(settings.max_height), str(settings.memory_mb),
              repr(float(settings.timeout))], cwd=work, timeout=settings.timeout, what="Dessin de la vignette")
        _check_png(drawn, settings)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
        shutil.copyfile(drawn, partial)
        os.replace(partial, target)


def _check_png(path: Path, settings: RenderSettings) -> None:
    """The parent never trusts the child: the file must be a PNG of the expected size."""
    from PIL import Image, UnidentifiedImageError

    if not path.is_file():
        raise ThumbnailError("Le dessin de la vignette n'a rien produit.")
    try:
        with Image.open(path) as image:
            width, height = image.size
            fmt = image.format
    except (UnidentifiedImageError, OSError):
        raise ThumbnailError("Vignette illisible.") from None
    if fmt != "PNG" or width > settings.width or height > settings.max_height or width < 1 or height < 1:
        raise ThumbnailError("Vignette hors des dimensions attendues.")


# --------------------------------------------------------------------------- the child process


def _limit(memory_mb: int, timeout: float) -> None:
    import math
    import resource

    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    cpu = max(1, math.ceil(timeout))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))


def _draw_pdf(source: str, output: str, width: int, max_height: int) -> None:
    binary = shutil.which("pdftoppm")
    if binary is None:
        raise SystemExit(3)
    prefix = output[:-4] if output.endswith(".png") else output
    # Page 1 only, scaled to the width; -H crops a very tall page instead of drawing it whole.
    subprocess.run([binary, "-q", "-f", "1", "-l", "1", "-singlefile", "-png", "-scale-to-x", str(width),
                    "-scale-to-y", "-1", "-x", "0", "-y", "0", "-W", str(width), "-H", str(max_height),
                    source, prefix], check=True, stdin=subprocess.DEVNULL)


def _draw_image(source: str, output: str, width: int, max_height: int) -> None:
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        with Image.open(source) as image:
            image.seek(0)
            image.draft("RGB", (width * 2, max_height * 2))  # JPEG: decode at a reduced scale
            frame = image.convert("RGB")
    height = max(1, round(frame.height * width / frame.width))
    frame = frame.resize((width, height), Image.Resampling.LANCZOS)
    if height > max_height:
        frame = frame.crop((0, 0, width, max_height))
    frame.save(output, "PNG", optimize=True)


def _main(argv: list[str]) -> int:
    kind, source, output, width, max_height, memory_mb, timeout = argv
    _limit(int(memory_mb), float(timeout))
    if kind == "pdf":
        _draw_pdf(source, output, int(width), int(max_height))
    elif kind in IMAGE_KINDS:
        _draw_image(source, output, int(width), int(max_height))
    else:
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
