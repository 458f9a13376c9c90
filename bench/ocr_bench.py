"""Benchmark of the OCR: pages per minute through the product against bare ocrmypdf and bare tesseract.

Generates N scanned pages of known French text (DejaVu Serif at 300 dpi, A4, a slight tilt
and a little noise), grouped into image-only PDFs of a few pages, as a scanner makes them.
Then, in the same run, on the same pages:

1. the product: each PDF archived (``documents.archive.archive_document``: checks, store,
   extraction that finds no text, job queued), then the worker's ``process_one`` does the job
   (claim, bounded OCRmyPDF subprocess, copy stored, text read back, outbox row) and at the end
   the indexer applies the outbox — "queue → worker → copy → index";
2. bare ``ocrmypdf`` on the same PDFs, with the product's options (French, skip-text, deskew,
   rotate, PDF/A by pikepdf, one job), one process per PDF;
3. bare ``tesseract`` on the same page images (PNG), one process per page, text only.

The character error rate (CER) compares each recognised text with the ground truth
(Levenshtein distance over the truth's length, whitespace collapsed). The three paths are
interleaved PDF by PDF, so that the varying load of a shared machine weighs on each alike.

    .venv/bin/python bench/ocr_bench.py --pages 50

Not part of ``make test``.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import scankit  # noqa: E402
from documents import accounts, archive, indexer, migrate, reference  # noqa: E402
from documents.db import make_engine, make_session_factory  # noqa: E402
from documents.models import Document  # noqa: E402
from documents.ocr.worker import OcrSettings, process_one  # noqa: E402
from documents.storage import LocalStorage  # noqa: E402

WORDS = ("convention partenariat coordination régionale médiathèque cinéma éducation image quartier "
         "jeunes ateliers projection comité pilotage évaluation préfecture collectivité territoriale "
         "subvention montant versement année scolaire signée présidente association réalisateurs "
         "séances gratuites plein air structure culturelle familles engagements durée reconduction "
         "résiliation préavis ministère Culture centre national Orléans Châteauroux Besançon Lyon "
         "Marseille Lille Rennes Nantes Strasbourg Toulouse élèves lycée collège intervenant été "
         "hôpital prison restitution publique bilan financier annexe article").split()
A4 = (2480, 3508)


def page_lines(rng: random.Random, count: int) -> list[str]:
    lines = []
    for _ in range(count):
        words = [rng.choice(WORDS) for _ in range(rng.randint(5, 8))]
        words[0] = words[0].capitalize()
        lines.append(" ".join(words) + rng.choice([".", ",", " ;", ""]))
    return lines


def normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def distance(a: str, b: str) -> int:
    """Levenshtein distance, two rows."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def cer(truths: list[str], readings: list[str]) -> float:
    errors = sum(distance(normalise(t), normalise(r)) for t, r in zip(truths, readings, strict=True))
    return errors / max(1, sum(len(normalise(t)) for t in truths))


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=50)
    parser.add_argument("--pages-per-pdf", type=int, default=5)
    parser.add_argument("--lines", type=int, default=24, help="lignes de texte par page")
    parser.add_argument("--seed", type=int, default=2009)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="ocr-bench-"))
    print(f"Dossier de travail : {work}", file=sys.stderr)
    try:
        # -------------------------------------------------------------- corpus
        truths: list[list[str]] = []
        pdfs: list[Path] = []
        pngs: list[Path] = []
        page_truths: list[str] = []
        for start in range(0, args.pages, args.pages_per_pdf):
            images, texts = [], []
            for number in range(start, min(args.pages, start + args.pages_per_pdf)):
                lines = page_lines(rng, args.lines)
                image = scankit.scan_page(lines, angle=rng.uniform(-1.0, 1.0), noise=0.001, seed=number, size=A4)
                png = work / f"page{number:03d}.png"
                image.save(png, dpi=(300, 300))
                pngs.append(png)
                page_truths.append("\n".join(lines))
                images.append(image)
                texts.append("\n".join(lines))
            pdf = scankit.save_pdf(images, work / f"scan{len(pdfs):03d}.pdf")
            pdfs.append(pdf)
            truths.append(texts)
        pages = len(pngs)
        print(f"{pages} pages en {len(pdfs)} PDF", file=sys.stderr)

        results: list[tuple[str, float, float, float]] = []
        url = f"sqlite:///{work / 'bench.sqlite3'}"
        migrate.upgrade(url)
        engine = make_engine(url)
        factory = make_session_factory(engine)
        session = factory()
        reference.load_reference(session)
        admin = accounts.create_user(session, email="bench@passeurs.local", role="admin", region_code=None,
                                     password="Banc-d-essai-ocr-2009", name="Bench")
        session.commit()
        store = LocalStorage(work / "files")
        ocrmypdf = shutil.which("ocrmypdf", path=str(Path(sys.executable).parent)) or "ocrmypdf"
        env = dict(os.environ, OMP_THREAD_LIMIT="1")
        # The three paths are interleaved PDF by PDF, so that the load of a shared machine weighs on each alike.
        spent = {"product": [0.0, 0.0], "ocrmypdf": [0.0, 0.0], "tesseract": [0.0, 0.0]}

        def measure(key: str, action: Any) -> Any:
            cpu0, t0 = children_cpu() + time.process_time(), time.perf_counter()
            value = action()
            spent[key][0] += time.perf_counter() - t0
            spent[key][1] += children_cpu() + time.process_time() - cpu0
            return value

        ids, outputs, tess_readings = [], [], []
        for number, pdf in enumerate(pdfs):
            def product(pdf: Path = pdf) -> int:
                doc = archive.archive_document(session, store, actor=admin, path=pdf, filename=pdf.name,
                                               meta=archive.Metadata(title=pdf.stem, region_code=None))
                assert process_one(factory, store, OcrSettings())
                return doc.id

            ids.append(measure("product", product))
            out = work / f"{pdf.stem}.ocr.pdf"
            measure("ocrmypdf", lambda pdf=pdf, out=out: subprocess.run(
                [ocrmypdf, "-q", "-l", "fra", "--skip-text", "--deskew", "--rotate-pages", "--output-type", "auto",
                 "--pdfa-backend", "internal", "--jobs", "1", str(pdf), str(out)], check=True))
            outputs.append(out)
            first = number * args.pages_per_pdf
            for png in pngs[first:first + args.pages_per_pdf]:
                tess_readings.append(measure("tesseract", lambda png=png: subprocess.run(
                    ["tesseract", str(png), "-", "-l", "fra"], check=True, capture_output=True,
                    env=env).stdout.decode("utf-8")))
        # The index learns the texts through the outbox, as in production.
        measure("product", lambda: indexer.run_indexer(factory, work / "index", once=True))
        session.expire_all()
        readings = []
        for doc_id in ids:
            version = session.get(Document, doc_id).current
            assert version.text_status == "ocr", (version.text_status, version.text_reason)
            readings.append(version.text or "")
        session.close()
        engine.dispose()
        from pypdf import PdfReader

        truth_docs = ["\n".join(t) for t in truths]
        results.append(("Produit (file → lecteur → copie → index)", *spent["product"], cer(truth_docs, readings)))
        bare = ["\n".join(p.extract_text() or "" for p in PdfReader(out).pages) for out in outputs]
        results.append(("ocrmypdf nu (mêmes options, --jobs 1)", *spent["ocrmypdf"], cer(truth_docs, bare)))
        results.append(("tesseract nu (texte seul, une page par processus)", *spent["tesseract"],
                        cer(page_truths, tess_readings)))
        product_s, bare_s = spent["product"][0], spent["ocrmypdf"][0]

        load = os.getloadavg()
        print(f"\n{pages} pages A4 à 300 dpi, {len(pdfs)} PDF de {args.pages_per_pdf} pages ; charge pendant la "
              f"mesure : {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} sur {os.cpu_count()} processeurs\n")
        print("| Chemin | Temps (s) | pages/min | CPU (s) | CER |")
        print("|---|---:|---:|---:|---:|")
        for name, seconds, cpu, rate in results:
            print(f"| {name} | {seconds:.1f} | {pages * 60 / seconds:.1f} | {cpu:.1f} | {rate * 100:.2f} % |")
        print(f"\nDébit du produit / ocrmypdf nu : {bare_s / product_s:.2f}× (temps écoulé), "
              f"{spent['ocrmypdf'][1] / spent['product'][1]:.2f}× (CPU)")
    finally:
        if args.keep:
            print(f"Fichiers conservés dans {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
