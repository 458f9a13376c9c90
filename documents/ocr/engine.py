"""The OCR engine, run in a throw-away subprocess bounded in time, memory, pages and pixels.

``run_ocr`` starts ``python -m documents.ocr.engine``: OCRmyPDF (Tesseract, French model)
reads the pages that carry no text (``--skip-text``), deskews and rotates them, and writes a
PDF/A copy with a text layer. A hostile scan can at worst fail its own job: it can never
exhaust the worker that runs it, let alone a web worker. Failures are results, not exceptions.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import signal
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

log = logging.getLogger(__name__)

#: A scan longer than this is refused by the OCR (a convention has a few dozen pages).
MAX_PAGES = 200
#: Largest page image read (pixels): an A4 page at 600 dpi is about 35 Mpx.
MAX_PIXELS = 80_000_000
DEFAULT_LANGUAGES = "fra"
DEFAULT_TIMEOUT = 900.0
DEFAULT_PAGE_TIMEOUT = 180.0
DEFAULT_MEMORY_MB = 2048
IMAGE_KINDS = frozenset({"jpeg", "png", "tiff"})
_PACKAGE_ROOT = Path(__file__).resolve().parent.parent.parent
_LANGUAGE = re.compile(r"^[a-z_]{3,10}(\+[a-z_]{3,10}){0,4}$")


@dataclass(frozen=True)
class OcrOutcome:
    """What the engine did: ``ok`` with a copy written, or ``failed`` with a French reason."""

    status: str
    reason: str = ""
    #: A failure worth another attempt (timeout, out of memory), unlike a page-count refusal.
    retry: bool = False
    #: Mean Tesseract word confidence (0–100) over the recognised words, None if no page was read.
    confidence: float | None = None
    ocr_pages: int = 0


def check_languages(value: str) -> str:
    """Validate a Tesseract language setting such as ``fra`` or ``fra+eng``."""
    value = (value or DEFAULT_LANGUAGES).strip()
    if not _LANGUAGE.match(value):
        raise ValueError(f"Langues de reconnaissance invalides : « {value} » (exemple : fra+eng)")
    return value


def _env(tmp: str) -> dict[str, str]:
    # A minimal environment: the engine reads hostile files and has no use for our secrets.
    return {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "PYTHONPATH": str(_PACKAGE_ROOT),
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONIOENCODING": "utf-8",
        "TMPDIR": tmp,
        "OMP_THREAD_LIMIT": "1",  # one Tesseract thread: the two cores serve the web too
    }


def run_ocr(source: Path, kind: str, output: Path, *, languages: str = DEFAULT_LANGUAGES, force: bool = False,
            timeout: float = DEFAULT_TIMEOUT, page_timeout: float = DEFAULT_PAGE_TIMEOUT,
            memory_mb: int = DEFAULT_MEMORY_MB, max_pages: int = MAX_PAGES,
            max_pixels: int = MAX_PIXELS) -> OcrOutcome:
    """OCR ``source`` into the searchable PDF ``output`` in a bounded subprocess; never raises for bad content."""
    languages = check_languages(languages)
    with tempfile.TemporaryDirectory(prefix="intranet-ocr-") as tmp:
        command = [
            sys.executable, "-s", "-B", "-m", "documents.ocr.engine", str(Path(source).resolve()), kind,
            str(Path(output).resolve()), languages, "1" if force else "0", repr(float(timeout)),
            repr(float(page_timeout)), str(memory_mb), str(max_pages), str(max_pixels),
        ]
        try:
            process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                       stderr=subprocess.PIPE, cwd=tmp, env=_env(tmp),
                                       start_new_session=True)  # its group: a timeout kills tesseract too
        except OSError as exc:
            log.error("cannot start the OCR engine: %r", exc)
            return OcrOutcome("failed", "Reconnaissance impossible pour le moment (serveur surchargé)", retry=True)
        try:
            out, err = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(process)
            process.communicate()
            return OcrOutcome("failed", f"Reconnaissance interrompue après {timeout:g} s", retry=True)
        finally:
            if process.poll() is None:
                _kill_group(process)
                process.wait()
    if process.returncode == 0:
        try:
            return OcrOutcome(**json.loads(out.decode("utf-8")))
        except (ValueError, TypeError):
            pass
    log.warning("OCR engine exited with %s: %s", process.returncode, err[-2000:].decode("utf-8", "replace"))
    return OcrOutcome("failed", "Reconnaissance abandonnée (mémoire insuffisante ou fichier corrompu)", retry=True)


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


# ---------------------------------------------------------------------- in the subprocess


class _Refused(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _check_image(path: Path, max_pages: int, max_pixels: int) -> None:
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = max_pixels
    with Image.open(path) as image:
        frames = int(getattr(image, "n_frames", 1) or 1)
        if frames > max_pages:
            raise _Refused(f"Image de {frames} pages : la reconnaissance s'arrête à {max_pages} pages")
        for number in range(frames):
            image.seek(number)
            if image.width * image.height > max_pixels:
                raise _Refused(f"Page {number + 1} trop grande ({image.width} × {image.height} pixels)")


def _image_to_pdf(path: Path, target: Path) -> Path:
    import img2pdf

    # A scan without a resolution is taken at 300 dpi, the usual scanner setting.
    layout = img2pdf.get_fixed_dpi_layout_fun((300, 300))
    try:
        data = img2pdf.convert(str(path), layout_fun=layout, rotation=img2pdf.Rotation.ifvalid)
    except (img2pdf.ImageOpenError, img2pdf.AlphaChannelError, ValueError, OSError):
        from PIL import Image

        with Image.open(path) as image:  # transparency or an exotic mode: flatten it first
            frames = []
            for number in range(int(getattr(image, "n_frames", 1) or 1)):
                image.seek(number)
                frames.append(image.convert("RGB"))
        flat = target.with_suffix(".flat.tiff")
        frames[0].save(flat, "TIFF", save_all=True, append_images=frames[1:], dpi=(300, 300))
        data = img2pdf.convert(str(flat), layout_fun=layout)
    target.write_bytes(data)
    return target


def _pdf_pages(path: Path) -> int:
    import pikepdf

    with pikepdf.open(path) as pdf:
        return len(pdf.pages)


def _confidence(work: Path) -> tuple[float | None, int]:
    """Mean word confidence over the hOCR files OCRmyPDF left, and how many pages Tesseract read."""
    values: list[int] = []
    pages = 0
    for hocr in work.rglob("*_ocr_hocr.hocr"):
        pages += 1
        text = hocr.read_text("utf-8", "replace")
        values.extend(int(v) for v in re.findall(r"x_wconf (\d+)", text))
    return (round(sum(values) / len(values), 1) if values else None), pages


def _limit(memory_mb: int, timeout: float) -> None:
    import resource

    memory = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))  # inherited by tesseract and ghostscript
    cpu = math.ceil(timeout) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _engine(argv: Sequence[str]) -> OcrOutcome:
    source, kind, output, languages, force, timeout, page_timeout, memory_mb, max_pages, max_pixels = argv
    import ocrmypdf
    from ocrmypdf import exceptions as ocr_errors

    _limit(int(memory_mb), float(timeout))
    work = Path(tempfile.mkdtemp(prefix="work-"))
    path = Path(source)
    try:
        if kind in IMAGE_KINDS:
            _check_image(path, int(max_pages), int(max_pixels))
            path = _image_to_pdf(path, work / "image.pdf")
        pages = _pdf_pages(path)
        if pages > int(max_pages):
            raise _Refused(f"Document de {pages} pages : la reconnaissance s'arrête à {max_pages} pages")
        code = ocrmypdf.ocr(
            path, output, language=languages.split("+"), skip_text=force != "1", force_ocr=force == "1",
            deskew=True, rotate_pages=True, output_type="auto", pdfa_backend="internal", jobs=1,
            progress_bar=False, keep_temporary_files=True, tesseract_timeout=float(page_timeout),
            max_image_mpixels=int(max_pixels) / 1_000_000,
        )
    except _Refused as refused:
        return OcrOutcome("failed", refused.reason)
    except ocr_errors.EncryptedPdfError:
        return OcrOutcome("failed", "PDF chiffré : reconnaissance impossible")
    except ocr_errors.DigitalSignatureError:
        return OcrOutcome("failed", "PDF signé numériquement : sa signature serait invalidée, texte non reconnu")
    except ocr_errors.InputFileError:
        return OcrOutcome("failed", "Fichier illisible par la reconnaissance (PDF endommagé ?)")
    except ocr_errors.MissingDependencyError as exc:
        return OcrOutcome("failed", f"Moteur de reconnaissance incomplet sur le serveur : {exc}"[:400], retry=True)
    except MemoryError:
        return OcrOutcome("failed", f"Reconnaissance abandonnée : le document demande plus de {memory_mb} Mo "
                                    "de mémoire", retry=True)
    except ocr_errors.ExitCodeException as exc:
        return OcrOutcome("failed", f"Reconnaissance échouée ({type(exc).__name__})", retry=True)
    except Exception as exc:  # noqa: BLE001 - hostile input may break the engine in any way
        from PIL import Image

        if isinstance(exc, Image.DecompressionBombError):
            return OcrOutcome("failed", "Image démesurée (bombe de décompression) : reconnaissance refusée")
        log.warning("OCR engine error: %r", exc)
        return OcrOutcome("failed", f"Reconnaissance échouée ({type(exc).__name__})", retry=True)
    if code != 0:
        return OcrOutcome("failed", f"Reconnaissance échouée (code {int(code)})", retry=True)
    confidence, read = _confidence(Path(tempfile.gettempdir()))
    return OcrOutcome("ok", confidence=confidence, ocr_pages=read)


def _die_with_parent() -> None:
    # A worker killed with kill -9 must not leave its OCR running: Linux kills us with it.
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _main(argv: Sequence[str]) -> int:
    _die_with_parent()
    # Keep fd 1 for the JSON answer; anything a library prints goes to stderr instead.
    answer = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    outcome = _engine(argv)
    json.dump(asdict(outcome), answer, ensure_ascii=False)
    answer.flush()
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
