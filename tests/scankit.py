"""Scanned pages built in the tests: French text drawn with a real font at 300 dpi, tilted and noisy."""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf")
DPI = 300
#: A short convention page; its accented words are what the tests search for.
CONVENTION_LINES = (
    "Convention de partenariat",
    "Entre l'association Passeurs d'images",
    "et la médiathèque de Châteauroux,",
    "il est convenu de l'éducation à l'image",
    "pour l'année scolaire, signée à Orléans.",
)


def scan_page(lines: Sequence[str], *, angle: float = 1.2, noise: float = 0.004, seed: int = 7,
              size: tuple[int, int] = (1240, 900)) -> Image.Image:
    """A grey-scale "scan" of ``lines``: 300 dpi, slightly rotated, with salt-and-pepper noise."""
    font = ImageFont.truetype(str(FONT), 42)
    page = Image.new("L", size, 255)
    draw = ImageDraw.Draw(page)
    y = 90
    for line in lines:
        draw.text((90, y), line, font=font, fill=0)
        y += 80
    page = page.rotate(angle, resample=Image.Resampling.BICUBIC, expand=False, fillcolor=255)
    rng = random.Random(seed)
    pixels = page.load()
    assert pixels is not None
    width, height = page.size
    for _ in range(int(width * height * noise)):
        x, y = rng.randrange(width), rng.randrange(height)
        pixels[x, y] = 0 if rng.random() < 0.5 else 255
    return page


def save_pdf(pages: Sequence[Image.Image], path: Path) -> Path:
    """An image-only PDF (no text layer), as a scanner makes it."""
    # Copies: Pillow keeps the save options on appended images, which would leak into a later save.
    pages = [page.copy() for page in pages]
    pages[0].save(path, "PDF", resolution=DPI, save_all=True, append_images=pages[1:])
    return path


def save_jpeg(page: Image.Image, path: Path) -> Path:
    """A photographed or scanned page as a JPEG."""
    page.save(path, "JPEG", quality=90, dpi=(DPI, DPI))
    return path


def save_tiff(pages: Sequence[Image.Image], path: Path) -> Path:
    """A multi-page TIFF, as a scanner's feeder makes it."""
    pages = [page.copy() for page in pages]
    pages[0].save(path, "TIFF", dpi=(DPI, DPI), save_all=True, append_images=pages[1:],
                  compression="tiff_lzw")
    return path


def save_mixed_pdf(typed_pages: Sequence[str], scan: Image.Image, path: Path) -> Path:
    """A typed convention (fpdf2, real text layer) whose last page is a scanned signature page."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_font("DejaVu", fname="/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
    pdf.set_font("DejaVu", size=12)
    for text in typed_pages:
        pdf.add_page()
        pdf.multi_cell(0, 8, text)
    pdf.add_page()
    pdf.image(scan, x=0, y=0, w=210)
    path.write_bytes(bytes(pdf.output()))
    return path


def png_bomb(width: int = 100_000, height: int = 100_000) -> bytes:
    """A few hundred bytes of PNG that claim ``width`` × ``height`` pixels (a decompression bomb)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * 1024, 9))
            + chunk(b"IEND", b""))
