"""Benchmark of the folder import: ``intranet import`` throughput against bare text extraction.

Generates a corpus of realistic French .docx (python-docx: headings, articles, a table of
amounts over the four lines of a convention), .pdf (fpdf2: bilans and comptes rendus, a few
pages each) and .txt (notes), laid out like a shared folder (region / year / file). Then, in
the same run:

1. runs the product's command, ``intranet import <dossier> --json``, in a fresh data folder
   (``intranet bootstrap`` first): checks, hashing, dedup, atomic store, bounded extraction in
   the pool of long-lived workers, metadata guesses, one commit per file, audit and outbox rows;
   the command's fixed start-up cost is measured apart (the same command on an empty folder);
2. runs the same command again (everything is a duplicate: the cost of a rerun or resume);
3. extracts the text of the same files bare, in this process, with python-docx, pypdf and a
   plain read: the floor an import cannot beat on one core.

CPU times include the child processes (the command and its extraction workers). The command
and the bare extraction alternate for ``--repeat`` rounds and the best round of each is kept.

    .venv/bin/python bench/import_bench.py --files 300 --repeat 3
    .venv/bin/python bench/import_bench.py --files 300 --repeat 1 --database-url postgresql://postgres@127.0.0.1:5432/bench

Not part of ``make test``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import docx  # noqa: E402
from docx.shared import Pt  # noqa: E402
from pypdf import PdfReader  # noqa: E402

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


def make_txt(path: Path, rng: random.Random, region: str, year: int) -> None:
    """Notes of a local committee, as staff type them in a text editor (UTF-8)."""
    lines = [f"Notes du comité local — {region} — {year}", ""]
    lines += [paragraph(rng, rng.randint(3, 6)) + "\n" for _ in range(rng.randint(4, 8))]
    path.write_text("\n".join(lines), encoding="utf-8")


def build_corpus(root: Path, count: int, seed: int) -> list[Path]:
    """``count`` files: 2/5 .docx conventions, 2/5 .pdf bilans and comptes rendus, 1/5 .txt notes."""
    rng = random.Random(seed)
    files: list[Path] = []
    for index in range(count):
        region = REGIONS[index % len(REGIONS)]
        year = 2009 + (index // len(REGIONS)) % 8
        folder = root / region / str(year)
        folder.mkdir(parents=True, exist_ok=True)
        if index % 5 in (0, 2):
            path = folder / f"Convention DRAC {index:04d}.docx"
            make_convention(path, rng, region, year, index)
        elif index % 5 == 4:
            path = folder / f"Notes comité local {index:04d}.txt"
            make_txt(path, rng, region, year)
        else:
            kind = "Bilan" if index % 5 == 1 else "Compte rendu du comité de pilotage"
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


def bare_txt(path: Path) -> str:
    return path.read_bytes().decode("utf-8")


def _cpu() -> float:
    # This process plus the children it waited for (the command, which waited for its workers).
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


CPU: dict[str, float] = {}
WALL: dict[str, float] = {}


def timed(label: str, func: Callable[[], object]) -> tuple[float, object]:
    """Run ``func``; keep the best wall time and the best CPU time seen for ``label``."""
    start, cpu = time.perf_counter(), _cpu()
    result = func()
    elapsed = time.perf_counter() - start
    used = _cpu() - cpu
    WALL[label] = min(WALL.get(label, elapsed), elapsed)
    CPU[label] = min(CPU.get(label, used), used)
    print(f"  {label} : {elapsed:.1f} s (CPU {used:.1f} s)", file=sys.stderr)
    return elapsed, result


def intranet(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """The product's command line, as an administrator runs it."""
    command = [str(Path(sys.executable).with_name("intranet")), *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, check=False)


def in_process_split(corpus: Path, work: Path) -> tuple[float, float, float]:
    """(wall s, CPU s of the importing process, CPU s of its extraction workers) of ``import_folder`` run here.

    The command's CPU mixes both; the importing process is the serial part (one file filed after
    the other), the workers' part spreads over the cores.
    """
    from documents import accounts, intake, migrate, reference
    from documents.db import make_engine, make_session_factory
    from documents.storage import LocalStorage

    url = f"sqlite:///{work / 'split.sqlite3'}"
    migrate.upgrade(url)
    engine = make_engine(url)
    session = make_session_factory(engine)()
    reference.load_reference(session)
    accounts.create_user(session, email="bench@passeurs.local", role="admin", region_code=None,
                         password="Banc-d-essai-import-2009", name="Bench")
    session.commit()
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    intake.import_folder(session, LocalStorage(work / "split-files"), corpus, actor=intake.default_actor(session),
                         checkpoint=session.commit)
    wall = time.perf_counter() - start
    own2, kids2 = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    session.close()
    engine.dispose()
    main_cpu = own2.ru_utime + own2.ru_stime - own.ru_utime - own.ru_stime
    workers_cpu = kids2.ru_utime + kids2.ru_stime - kids.ru_utime - kids.ru_stime
    print(f"  import_folder dans ce processus : {wall:.1f} s (CPU {main_cpu:.1f} s + travailleurs "
          f"{workers_cpu:.1f} s)", file=sys.stderr)
    return wall, main_cpu, workers_cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=300, help="taille du corpus (défaut 300)")
    parser.add_argument("--seed", type=int, default=2009)
    parser.add_argument("--database-url", default=None,
                        help="base vide à utiliser (défaut : SQLite dans le dossier de données temporaire)")
    parser.add_argument("--corpus", type=Path, default=None,
                        help="dossier du corpus : réutilisé s'il existe, créé sinon (défaut : temporaire)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="tours (commande puis extraction nue) ; le meilleur de chaque est gardé (défaut 3)")
    parser.add_argument("--keep", action="store_true", help="garde le dossier de travail")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="import-bench-"))
    try:
        print(f"Dossier de travail : {work}", file=sys.stderr)
        corpus = args.corpus or work / "partage"
        gen_s = 0.0
        if corpus.is_dir() and any(corpus.rglob("*.*")):
            files = sorted(p for p in corpus.rglob("*") if p.is_file())
        else:
            gen_s, built = timed("génération du corpus", lambda: build_corpus(corpus, args.files, args.seed))
            assert isinstance(built, list)
            files = built
        size = sum(p.stat().st_size for p in files)
        by_kind = {kind: [p for p in files if p.suffix == f".{kind}"] for kind in ("docx", "pdf", "txt")}

        if args.database_url and args.repeat > 1:
            parser.error("--repeat demande une base SQLite neuve par tour : sans --database-url")
        empty = work / "vide"
        empty.mkdir()

        def run_import(env: dict[str, str]) -> dict[str, object]:
            done = intranet(env, "import", str(corpus), "--json")
            if done.returncode not in (0, 1):
                raise SystemExit(f"intranet import a échoué ({done.returncode}) : {done.stderr[-2000:]}")
            return json.loads(done.stdout)

        pages = 0

        def bare() -> int:
            nonlocal pages
            chars, pages = 0, 0
            for path in by_kind["docx"]:
                chars += len(bare_docx(path))
            for path in by_kind["pdf"]:
                text, count = bare_pdf(path)
                chars += len(text)
                pages += count
            for path in by_kind["txt"]:
                chars += len(bare_txt(path))
            return chars

        # Rounds alternate the command and the bare extraction, so that both see the same load;
        # the best round of each is kept (as ``timeit`` does): load only ever adds time.
        for round_no in range(args.repeat):
            print(f"Tour {round_no + 1}/{args.repeat}", file=sys.stderr)
            env = {**os.environ, "INTRANET_DATA_DIR": str(work / f"data{round_no}"), "INTRANET_LOG_LEVEL": "WARNING"}
            if args.database_url:
                env["DATABASE_URL"] = args.database_url
            boot = intranet(env, "bootstrap")
            if boot.returncode != 0:
                print(boot.stdout, boot.stderr, file=sys.stderr)
                return 1
            timed("démarrage de la commande (dossier vide)", lambda: intranet(env, "import", str(empty), "--json"))
            _, report = timed("intranet import", lambda: run_import(env))
            _, rerun = timed("intranet import, second passage", lambda: run_import(env))
            _, chars = timed("extraction nue", bare)
        start_s, import_s = WALL["démarrage de la commande (dossier vide)"], WALL["intranet import"]
        rerun_s, bare_s = WALL["intranet import, second passage"], WALL["extraction nue"]
        assert isinstance(report, dict) and isinstance(rerun, dict)
        counts, rerun_counts = report["counts"], rerun["counts"]
        assert isinstance(counts, dict) and isinstance(rerun_counts, dict)
        if counts["imported"] != len(files):
            print(f"Attention : {counts}", file=sys.stderr)
            for outcome in report["rejected"]:  # type: ignore[union-attr]
                print(f"  {outcome}", file=sys.stderr)
        split = in_process_split(corpus, work)

        backend = (args.database_url or "sqlite").split(":", 1)[0]
        n = len(files)
        print()
        print(f"Corpus : {n} fichiers — {len(by_kind['docx'])} .docx (conventions de 5 à 6 pages), "
              f"{len(by_kind['pdf'])} .pdf (bilans et comptes rendus, {pages / max(len(by_kind['pdf']), 1):.1f} pages "
              f"en moyenne), {len(by_kind['txt'])} .txt (notes) ; {size / 1e6:.1f} Mo ; {chars} caractères de texte ; "
              f"base {backend}" + (f" ; corpus généré en {gen_s:.0f} s" if gen_s else " ; corpus réutilisé"))
        print()
        net_s = import_s - start_s
        rows = [
            ("`intranet import` (commande complète)", import_s, CPU["intranet import"]),
            ("`intranet import`, hors démarrage de la commande", net_s,
             CPU["intranet import"] - CPU["démarrage de la commande (dossier vide)"]),
            ("Second `intranet import` du même dossier (tout en doublon)", rerun_s,
             CPU["intranet import, second passage"]),
            ("Extraction nue (python-docx / pypdf / lecture, un processus)", bare_s, CPU["extraction nue"]),
        ]
        print("| Étape | Fichiers | Durée (s) | docs/s | ms/doc | CPU ms/doc |")
        print("|---|---:|---:|---:|---:|---:|")
        for label, seconds, cpu in rows:
            print(f"| {label} | {n} | {seconds:.1f} | {n / seconds:.1f} | {1000 * seconds / n:.0f} | "
                  f"{1000 * cpu / n:.0f} |")
        print()
        print(f"Démarrage de la commande (dossier vide) : {start_s:.1f} s.")
        split_wall, main_cpu, workers_cpu = split
        cores = os.cpu_count() or 1
        ceiling = min(n / main_cpu, cores * n / (main_cpu + workers_cpu))
        print(f"Répartition du temps CPU (`import_folder` lancé dans le banc, {n / split_wall:.1f} docs/s) : "
              f"processus qui importe {1000 * main_cpu / n:.1f} ms/doc (la partie en série), travailleurs "
              f"d'extraction {1000 * workers_cpu / n:.1f} ms/doc (répartis sur les cœurs) ; plafond sur "
              f"{cores} cœurs libres, déduit de ces temps CPU (projection, pas une mesure) : {ceiling:.0f} docs/s ; "
              f"extraction nue : {n / CPU['extraction nue']:.0f} docs/s par cœur.")
        print(f"Rapport : la commande complète prend {import_s / bare_s:.2f} fois la durée de l'extraction nue "
              f"({CPU['intranet import'] / CPU['extraction nue']:.2f} fois son temps CPU).")
        load = os.getloadavg()
        print(f"Charge de la machine pendant la mesure : {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} "
              f"({os.cpu_count()} CPU), machine partagée avec d'autres travaux : relancez au repos pour des "
              "chiffres stables.")
        print(f"Bilan de l'import : {counts} ; second passage : {rerun_counts}")
    finally:
        if args.keep:
            print(f"Dossier conservé : {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
