"""Benchmark of the folder import: documents.intake throughput against bare text extraction.

Generates a corpus of realistic French .docx (python-docx: headings, articles, a table of
amounts over the four lines of a convention) and .pdf (fpdf2: bilans and comptes rendus),
a few pages each, laid out like a shared folder (region / year / file). Then, in the same run:

1. imports it with ``documents.intake.import_folder`` into a scratch database and store
   (checks, hashing, dedup, atomic store, bounded extraction in a subprocess, metadata
   guesses, one commit per file, audit and outbox rows);
2. imports the same folder again (everything is a duplicate: the cost of a rerun or resume);
3. extracts the text of the same files bare, in this process, with python-docx and pypdf;
4. extracts it with ``documents.extraction.extract_text`` alone (the bounded subprocess),
   to show where the import's time goes.

    .venv/bin/python bench/import_bench.py --files 200
    .venv/bin/python bench/import_bench.py --files 200 --database-url postgresql://postgres@127.0.0.1:5432/bench

Not part of ``make test``.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import docx  # noqa: E402
from docx.shared import Pt  # noqa: E402
from pypdf import PdfReader  # noqa: E402

from documents import accounts, extraction, intake, migrate, reference  # noqa: E402
from documents.db import make_engine, make_session_factory  # noqa: E402
from documents.filetypes import check_upload  # noqa: E402
from documents.storage import LocalStorage  # noqa: E402

FONT = next((p for p in (Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
                         Path("/usr/share/fonts/dejavu/DejaVuSans.ttf")) if p.exists()), None)

REGIONS = ["Île-de-France", "Champagne-Ardenne", "Picardie", "Haute-Normandie", "Centre", "Bourgogne",
           "Nord-Pas-de-Calais", "Lorraine", "Alsace", "Franche-Comté", "Pays de la Loire", "Bretagne",
           "Poitou-Charentes", "Aquitaine", "Midi-Pyrénées", "Limousin", "Rhône-Alpes", "Auvergne",
           "Languedoc-Roussillon", "Provence-Alpes-Côte d'Azur", "Corse", "La Réunion"]
COORDINATIONS = ["Cinéma Le Méliès", "Association Ciné-Passion", "Pôle régional d'éducation à l'image",
                 "Festival Images en Région", "Les Écrans du Sud", "Cinéma l'Alhambra", "Association Cinéfil"]
LINES = ["Mission de coordination régionale", "Projets mis en œuvre par la coordination",
         "Formation et recherche pédagogique", "Sensibilisation et développement sur le territoire"]
SENTENCES = [
    "La coordination régionale met en œuvre le dispositif Passeurs d'images auprès des jeunes éloignés "
    "des pratiques cinématographiques, en priorité dans les quartiers de la politique de la ville.",
    "Le comité de pilotage régional, présidé par la DRAC, valide les projets locaux et procède chaque "
    "année à leur évaluation qualitative et quantitative.",
    "Les actions comprennent des séances à tarif préférentiel, des projections en présence de "
    "réalisateurs, des séances gratuites en plein air et des ateliers de pratique artistique.",
    "Chaque projet associe au moins un acteur culturel, idéalement une salle de cinéma, une collectivité "
    "territoriale et une structure en contact direct avec les publics.",
    "La coordination transmet à la coordination nationale le bilan de l'année écoulée, accompagné des "
    "données chiffrées de fréquentation et des comptes rendus des comités locaux.",
    "Les partenaires s'engagent à mentionner le soutien du ministère de la Culture et du Centre national "
    "du cinéma et de l'image animée sur l'ensemble des supports de communication.",
    "La présente convention est conclue pour une durée d'un an ; elle est renouvelable par tacite "
    "reconduction, sauf dénonciation par l'une des parties avec un préavis de trois mois.",
    "Les ateliers de réalisation sont encadrés par des professionnels de l'image et donnent lieu à une "
    "restitution publique en présence des familles et des partenaires du quartier.",
]
ARTICLES = ["Objet de la convention", "Engagements de la coordination régionale", "Engagements de la DRAC",
            "Montant et modalités de versement", "Évaluation", "Durée, reconduction et résiliation",
            "Communication", "Litiges"]


def paragraph(rng: random.Random, sentences: int) -> str:
    return " ".join(rng.choice(SENTENCES) for _ in range(sentences))


def make_convention(path: Path, rng: random.Random, region: str, year: int, index: int) -> None:
    """A regional convention of about three pages, with its table of amounts."""
    document = docx.Document()
    document.core_properties.title = f"Convention Passeurs d'images {region} {year}"
    document.add_heading(f"Convention {year} — Passeurs d'images en {region}", level=0)
    coordination = rng.choice(COORDINATIONS)
    document.add_paragraph(f"Entre la Direction régionale des affaires culturelles de la région {region}, "
                           f"et {coordination}, coordination régionale (dossier n° {year}-{index:04d}).")
    for number, title in enumerate(ARTICLES, start=1):
        document.add_heading(f"Article {number} — {title}", level=1)
        for _ in range(rng.randint(2, 3)):
            document.add_paragraph(paragraph(rng, rng.randint(3, 5)))
        if number == 4:
            table = document.add_table(rows=len(LINES) + 2, cols=3)
            table.style = "Table Grid"
            for col, text in enumerate(("Ligne", "Montant (€)", "Part (%)")):
                table.cell(0, col).text = text
            amounts = [rng.randrange(5_000, 60_000, 500) for _ in LINES]
            total = sum(amounts)
            for row, (line, amount) in enumerate(zip(LINES, amounts, strict=True), start=1):
                table.cell(row, 0).text = line
                table.cell(row, 1).text = f"{amount:,}".replace(",", " ")
                table.cell(row, 2).text = f"{100 * amount / total:.1f}".replace(".", ",")
            table.cell(len(LINES) + 1, 0).text = "Total"
            table.cell(len(LINES) + 1, 1).text = f"{total:,}".replace(",", " ")
    signature = document.add_paragraph(f"Fait à Paris, le {rng.randint(1, 28)} mars {year}.")
    signature.runs[0].font.size = Pt(11)
    document.save(path)


def make_pdf(path: Path, rng: random.Random, kind: str, region: str, year: int, pages: int) -> None:
    """A bilan or a compte rendu of a few pages."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_title(f"{kind} {region} {year}")
    if FONT is not None:
        pdf.add_font("DejaVu", fname=str(FONT))
        pdf.add_font("DejaVu", style="B", fname=str(FONT))
        family = "DejaVu"
    else:
        family = "Helvetica"

    def text(value: str) -> str:
        return value if FONT is not None else value.encode("latin-1", "replace").decode("latin-1")

    for page in range(pages):
        pdf.add_page()
        pdf.set_font(family, style="B", size=14)
        pdf.multi_cell(0, 9, text(f"{kind} — {region} — {year} ({page + 1}/{pages})"), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(family, size=10)
        for _ in range(5):
            pdf.multi_cell(0, 5, text(paragraph(rng, 3)), new_x="LMARGIN", new_y="NEXT")
            pdf.ln(2)
        pdf.set_font(family, size=9)
        for line in LINES:
            pdf.cell(120, 6, text(line), border=1)
            pdf.cell(40, 6, f"{rng.randrange(1_000, 40_000, 100):,} €".replace(",", " "), border=1)
            pdf.ln()
    pdf.output(str(path))


def build_corpus(root: Path, count: int, seed: int) -> list[Path]:
    """``count`` files, half .docx conventions, half .pdf bilans and comptes rendus, in region/year folders."""
    rng = random.Random(seed)
    files: list[Path] = []
    for index in range(count):
        region = REGIONS[index % len(REGIONS)]
        year = 2009 + (index // len(REGIONS)) % 8
        folder = root / region / str(year)
        folder.mkdir(parents=True, exist_ok=True)
        if index % 2 == 0:
            path = folder / f"Convention DRAC {index:04d}.docx"
            make_convention(path, rng, region, year, index)
        else:
            kind = "Bilan" if index % 4 == 1 else "Compte rendu du comité de pilotage"
            path = folder / f"{kind} {index:04d}.pdf"
            make_pdf(path, rng, kind, region, year, pages=rng.randint(2, 4))
        files.append(path)
    return files


# ------------------------------------------------------------------ bare extraction


def bare_docx(path: Path) -> str:
    document = docx.Document(str(path))
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts.extend(cell.text for cell in row.cells)
    return "\n".join(parts)


def bare_pdf(path: Path) -> tuple[str, int]:
    with path.open("rb") as fh:
        reader = PdfReader(fh)
        return "\n".join(page.extract_text() or "" for page in reader.pages), len(reader.pages)


def _cpu() -> float:
    # This process plus the extraction subprocesses it waited for: steady even on a busy machine.
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


CPU: dict[str, float] = {}


def timed(label: str, func: Callable[[], object]) -> tuple[float, object]:
    start, cpu = time.perf_counter(), _cpu()
    result = func()
    elapsed = time.perf_counter() - start
    CPU[label] = _cpu() - cpu
    print(f"  {label} : {elapsed:.1f} s (CPU {CPU[label]:.1f} s)", file=sys.stderr)
    return elapsed, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=200, help="taille du corpus (défaut 200)")
    parser.add_argument("--seed", type=int, default=2009)
    parser.add_argument("--database-url", default=None,
                        help="base vide à utiliser (défaut : SQLite dans un dossier temporaire)")
    parser.add_argument("--no-subprocess", action="store_true", help="sans la mesure de l'extraction bornée seule")
    parser.add_argument("--subprocess-sample", type=int, default=50,
                        help="fichiers pour la mesure de l'extraction bornée seule (défaut 50)")
    parser.add_argument("--keep", action="store_true", help="garde le dossier de travail")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="import-bench-"))
    try:
        print(f"Dossier de travail : {work}", file=sys.stderr)
        corpus = work / "partage"
        gen_s, files = timed("génération du corpus", lambda: build_corpus(corpus, args.files, args.seed))
        assert isinstance(files, list)
        size = sum(p.stat().st_size for p in files)
        docx_files = [p for p in files if p.suffix == ".docx"]
        pdf_files = [p for p in files if p.suffix == ".pdf"]

        url = args.database_url or f"sqlite:///{work / 'bench.sqlite3'}"
        migrate.upgrade(url)
        engine = make_engine(url)
        session = make_session_factory(engine)()
        reference.load_reference(session)
        accounts.create_user(session, email="bench@passeurs.local", role="admin", region_code=None,
                             password="Banc-d-essai-import-2009", name="Bench")
        session.commit()
        store = LocalStorage(work / "files")

        admin = intake.default_actor(session)
        import_s, report = timed("import (documents.intake)", lambda: intake.import_folder(
            session, store, corpus, actor=admin))
        assert isinstance(report, intake.ImportReport)
        if report.counts["imported"] != len(files):
            print(f"Attention : {report.counts}", file=sys.stderr)
            for outcome in report.of("rejected"):
                print(f"  {outcome.path} : {outcome.reason}", file=sys.stderr)

        rerun_s, rerun = timed("second import, same folder", lambda: intake.import_folder(
            session, store, corpus, actor=admin))
        assert isinstance(rerun, intake.ImportReport)

        pages = 0

        def bare() -> int:
            nonlocal pages
            chars = 0
            for path in docx_files:
                chars += len(bare_docx(path))
            for path in pdf_files:
                text, count = bare_pdf(path)
                chars += len(text)
                pages += count
            return chars

        bare_s, chars = timed("extraction nue (python-docx / pypdf)", bare)

        sub_s = None
        if not args.no_subprocess:
            sample = files[: args.subprocess_sample]

            def bounded() -> int:
                ok = 0
                for path in sample:
                    kind = check_upload(path, path.name).kind
                    ok += extraction.extract_text(path, kind).status == "ok"
                return ok

            sub_s, _ok = timed("extraction bornée seule (documents.extraction)", bounded)
        session.close()
        engine.dispose()

        backend = url.split(":", 1)[0]
        print()
        docx_chars = sum(len(bare_docx(p)) for p in docx_files) // max(len(docx_files), 1)
        print(f"Corpus : {len(files)} fichiers — {len(docx_files)} .docx (conventions, {docx_chars} caractères "
              f"en moyenne, soit 5 à 6 pages), {len(pdf_files)} .pdf (bilans et comptes rendus, "
              f"{pages / max(len(pdf_files), 1):.1f} pages en moyenne) ; {size / 1e6:.1f} Mo ; "
              f"{chars} caractères de texte ; base {backend} ; corpus généré en {gen_s:.0f} s")
        print()
        rows = [("Import complet (documents.intake)", import_s, CPU["import (documents.intake)"]),
                ("Second import du même dossier (tout en doublon)", rerun_s, CPU["second import, same folder"]),
                ("Extraction nue (python-docx / pypdf, même processus)", bare_s,
                 CPU["extraction nue (python-docx / pypdf)"])]
        print("| Étape | Fichiers | Durée (s) | docs/s | ms/doc | CPU ms/doc |")
        print("|---|---:|---:|---:|---:|---:|")
        for label, seconds, cpu in rows:
            print(f"| {label} | {len(files)} | {seconds:.1f} | {len(files) / seconds:.1f} | "
                  f"{1000 * seconds / len(files):.0f} | {1000 * cpu / len(files):.0f} |")
        sub_cpu_per_doc = None
        if sub_s is not None:
            n = min(args.subprocess_sample, len(files))
            sub_cpu_per_doc = CPU["extraction bornée seule (documents.extraction)"] / n
            print(f"| Extraction bornée seule (un sous-processus par fichier) | {n} | {sub_s:.1f} | "
                  f"{n / sub_s:.1f} | {1000 * sub_s / n:.0f} | {1000 * sub_cpu_per_doc:.0f} |")
        import_cpu, bare_cpu = CPU["import (documents.intake)"], CPU["extraction nue (python-docx / pypdf)"]
        print()
        print(f"Rapport : l'import traite {import_s / bare_s:.1f} fois moins de documents par seconde que "
              f"l'extraction nue ({import_cpu / bare_cpu:.1f} fois plus de temps CPU)"
              + (f" ; l'extraction bornée représente environ {100 * sub_cpu_per_doc * len(files) / import_cpu:.0f} %"
                 " du temps CPU de l'import." if sub_cpu_per_doc is not None else "."))
        load = os.getloadavg()
        print(f"Charge de la machine pendant la mesure : {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} "
              f"({os.cpu_count()} CPU) ; relancez sur une machine au repos pour des chiffres stables.")
        print(f"Bilan de l'import : {report.counts} ; second passage : {rerun.counts}")
    finally:
        if args.keep:
            print(f"Dossier conservé : {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
