"""Benchmark of the thumbnails: the product's bounded drawing against the bare tools, in the same run.

Generates N two-page PDFs (fpdf2, French text), N scans (PNG, 2480 × 3508, an A4 page at
300 dpi) and a few .docx (python-docx). Then, file by file and interleaved so that the load of
a shared machine weighs on each path alike:

1. the product: ``documents.thumbnails.render.make_thumbnail`` (a child process with memory and
   CPU limits, ``pdftoppm`` or Pillow inside it, LibreOffice first for .docx, the PNG checked
   again by the parent and stored atomically);
2. bare: ``pdftoppm`` with the same arguments, called directly; Pillow in this process; for
   .docx, ``soffice --convert-to pdf`` then ``pdftoppm`` directly.

    .venv/bin/python bench/thumbnail_bench.py --files 20 --docx 3

Not part of ``make test``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import samplefiles as sf  # noqa: E402
from documents.thumbnails.render import MAX_HEIGHT, WIDTH, make_thumbnail  # noqa: E402


def bare_pdf(source: Path, out: Path) -> None:
    subprocess.run(["pdftoppm", "-q", "-f", "1", "-l", "1", "-singlefile", "-png", "-scale-to-x", str(WIDTH),
                    "-scale-to-y", "-1", "-x", "0", "-y", "0", "-W", str(WIDTH), "-H", str(MAX_HEIGHT),
                    str(source), str(out.with_suffix(""))], check=True)


def bare_image(source: Path, out: Path) -> None:
    from PIL import Image

    with Image.open(source) as image:
        image.draft("RGB", (WIDTH * 2, MAX_HEIGHT * 2))
        frame = image.convert("RGB")
    frame = frame.resize((WIDTH, max(1, round(frame.height * WIDTH / frame.width))))
    frame.crop((0, 0, WIDTH, min(frame.height, MAX_HEIGHT))).save(out, "PNG", optimize=True)


def bare_docx(source: Path, out: Path, work: Path) -> None:
    subprocess.run(["soffice", f"-env:UserInstallation={(work / 'profil').as_uri()}", "--headless", "--norestore",
                    "--convert-to", "pdf", "--outdir", str(work), str(source)], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    bare_pdf(work / (source.stem + ".pdf"), out)


def scan(n: int) -> bytes:
    import io

    from PIL import Image, ImageDraw

    image = Image.new("RGB", (2480, 3508), "white")
    draw = ImageDraw.Draw(image)
    for line in range(60):
        draw.rectangle((200, 300 + line * 50, 200 + 1500 + (line * 37 + n) % 500, 320 + line * 50), fill=(30, 30, 30))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def timed(fn, *args) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    fn(*args)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=20, help="PDFs and scans each (default 20)")
    parser.add_argument("--docx", type=int, default=3, help=".docx files (LibreOffice, slow; default 3)")
    args = parser.parse_args()
    times: dict[str, dict[str, list[float]]] = {k: {"produit": [], "nu": []} for k in ("pdf", "png", "docx")}
    with tempfile.TemporaryDirectory(prefix="bench-vignettes-") as tmp:
        root = Path(tmp)
        (root / "bare").mkdir()
        for n in range(args.files):
            pdf = sf.write_sample(root / f"in/{n}.pdf", sf.make_pdf([f"Bilan régional {n}, page 1", "Page 2"]))
            png = sf.write_sample(root / f"in/{n}.png", scan(n))
            times["pdf"]["produit"].append(timed(make_thumbnail, pdf, "pdf", root / f"out/p{n}.png"))
            times["pdf"]["nu"].append(timed(bare_pdf, pdf, root / f"bare/p{n}.png"))
            times["png"]["produit"].append(timed(make_thumbnail, png, "png", root / f"out/i{n}.png"))
            times["png"]["nu"].append(timed(bare_image, png, root / f"bare/i{n}.png"))
        for n in range(args.docx):
            docx = sf.write_sample(root / f"in/c{n}.docx", sf.make_docx([f"Convention régionale {n}", "Article 1"]))
            times["docx"]["produit"].append(timed(make_thumbnail, docx, "docx", root / f"out/d{n}.png"))
            work = root / f"work{n}"
            work.mkdir()
            times["docx"]["nu"].append(timed(bare_docx, docx, root / f"bare/d{n}.png", work))
    print(f"load average: {os.getloadavg()[0]:.2f} (2 cores)\n")
    print("| fichiers | n | produit (médiane, ms) | outil nu (médiane, ms) | rapport |")
    print("|---|---|---|---|---|")
    for kind, label in (("pdf", "PDF (pdftoppm)"), ("png", "scan PNG A4 300 dpi (Pillow)"),
                        ("docx", ".docx (LibreOffice puis pdftoppm)")):
        ours, bare = times[kind]["produit"], times[kind]["nu"]
        if not ours:
            continue
        a, b = statistics.median(ours) * 1000, statistics.median(bare) * 1000
        print(f"| {label} | {len(ours)} | {a:.0f} | {b:.0f} | {a / b:.2f} |")


if __name__ == "__main__":
    if shutil.which("pdftoppm") is None:
        sys.exit("pdftoppm (poppler-utils) is needed")
    main()
