"""Rebuild documents/data/quartiers.csv from annex 2 of the 2009 protocol text.

    python scripts/parse_annex2.py            # write the CSV
    python scripts/parse_annex2.py --check    # exit 1 if the shipped CSV differs from a fresh parse

The parsing itself lives in ``documents.referencedata.parse_annex2`` so that the tests and
this script read the annex the same way; the output is deterministic (source order, ``\\n``
line ends, UTF-8 without BOM).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
# Run as a plain file, Python puts scripts/ on sys.path, not the repository root.
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from documents.referencedata import Annex2ParseError, dump_quartiers_csv, parse_annex2  # noqa: E402

DEFAULT_SOURCE = REPO_ROOT / "documents" / "data" / "sources" / "protocole-national-2009.txt"
DEFAULT_OUTPUT = REPO_ROOT / "documents" / "data" / "quartiers.csv"


def main(argv: list[str] | None = None) -> int:
    """Parse annex 2 and write (or, with --check, compare) the quartiers CSV."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE, help="texte du protocole")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="CSV à écrire")
    parser.add_argument(
        "--check", action="store_true", help="vérifier que le CSV livré égale un nouvel export"
    )
    args = parser.parse_args(argv)

    try:
        text = args.source.read_text(encoding="utf-8")
    except OSError as exc:
        print(f"Impossible de lire le texte du protocole {args.source} : {exc}", file=sys.stderr)
        return 2
    try:
        rows = parse_annex2(text)
    except Annex2ParseError as exc:
        print(exc.message, file=sys.stderr)
        return 2
    fresh = dump_quartiers_csv(rows)

    if args.check:
        try:
            shipped = args.output.read_bytes().decode("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            print(f"Impossible de lire {args.output} : {exc}", file=sys.stderr)
            return 1
        if shipped != fresh:
            print(
                f"{args.output} diffère de l'annexe 2 relue : relancez "
                "`python scripts/parse_annex2.py` puis relisez le diff.",
                file=sys.stderr,
            )
            return 1
        print(f"{args.output} : à jour ({len(rows)} quartiers).")
        return 0

    args.output.write_bytes(fresh.encode("utf-8"))
    print(f"{args.output} : {len(rows)} quartiers écrits.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
