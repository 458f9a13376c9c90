"""Upload checks for scanned images (JPEG, PNG, TIFF): real signature bytes, no pixel or decompression bomb.

Only the image headers are read (Pillow opens lazily and a TIFF's ``seek`` reads one frame
directory), so a bomb is refused before a single pixel is decoded.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import BinaryIO

from documents.errors import DomainError

IMAGE_KINDS = frozenset({"jpeg", "png", "tiff"})
#: Largest page accepted (pixels): an A4 page scanned at 600 dpi is about 35 Mpx.
MAX_IMAGE_PIXELS = 80_000_000
#: Most frames in a multi-page TIFF (the OCR stops at as many pages).
MAX_IMAGE_FRAMES = 200
#: A page decoded at this many bytes per pixel (RGBA) may not exceed this: a bomb compresses far better.
MAX_DECODED_BYTES = 400 * 1024 * 1024

_SIGNATURES = (
    (b"\xff\xd8\xff", "jpeg"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
)


def image_kind(head: bytes) -> str | None:
    """« jpeg », « png », « tiff » or « gif » from the first bytes, or None."""
    for signature, kind in _SIGNATURES:
        if head.startswith(signature):
            return kind
    return None


def _rejected(message: str, code: str) -> DomainError:
    from documents.filetypes import UploadRejected

    return UploadRejected(message, code=code)


def check_image(open_file: Callable[[], BinaryIO], size: int) -> None:
    """Refuse an image whose headers are unreadable, or whose pages are too many or too large."""
    from PIL import Image, UnidentifiedImageError

    with open_file() as handle, warnings.catch_warnings():
        # Pillow's own bomb warning is replaced by our clearer refusal below.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            with Image.open(handle) as image:
                frames = int(getattr(image, "n_frames", 1) or 1)
                if frames > MAX_IMAGE_FRAMES:
                    raise _rejected(f"Image refusée : elle contient {frames} pages (maximum {MAX_IMAGE_FRAMES}).",
                                    "image_frames")
                for number in range(frames):
                    if number:
                        image.seek(number)
                    width, height = image.size
                    if width * height > MAX_IMAGE_PIXELS or width * height * 4 > MAX_DECODED_BYTES:
                        raise _rejected(
                            f"Image refusée : {width} × {height} pixels, c'est plus qu'une page numérisée "
                            f"(maximum {MAX_IMAGE_PIXELS // 1_000_000} millions de pixels ; « bombe » de "
                            "décompression ?). Numérisez à 300 dpi puis renvoyez-la.",
                            "pixel_bomb",
                        )
        except Image.DecompressionBombError as exc:
            raise _rejected("Image refusée : « bombe » de décompression (dimensions démesurées).",
                            "pixel_bomb") from exc
        except (UnidentifiedImageError, OSError, ValueError, EOFError, SyntaxError) as exc:
            raise _rejected("L'image est tronquée ou endommagée : renvoyez-la depuis l'original.",
                            "truncated") from exc
