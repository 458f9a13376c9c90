"""The zip-bomb guard shared by every zip read (uploads, Word templates), from the central directory alone.

One set of limits for every zip the application opens, chosen to accept any real office
document and refuse bombs before a byte is inflated:

- 2,000 entries: a large .docx or .odt with many images has a few hundred; extraction and
  sniffing walk the entry list, so the bound keeps that walk cheap;
- 200 MB once inflated, in all: twice the largest upload (100 MB), since pictures do not
  shrink when zipped while XML does, and small enough for the disk and memory of a render;
- 100 times per entry over 1 MB: office XML compresses 5 to 20 times and pictures barely
  at all, so only a crafted entry (runs of one byte) goes past a hundredfold.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable

MAX_ENTRIES = 2000
MAX_TOTAL_BYTES = 200 * 1024 * 1024
MAX_RATIO = 100
#: Entries smaller than this are not checked for their ratio: they cannot hurt, whatever it is.
RATIO_MIN_BYTES = 1024 * 1024


def zip_bomb_message(infos: Iterable[zipfile.ZipInfo]) -> str | None:
    """Why these entries look like a zip bomb (a French sentence), or None when they are within bounds."""
    entries = list(infos)
    if len(entries) > MAX_ENTRIES:
        return (
            f"Archive refusée : elle contient {len(entries)} éléments (maximum {MAX_ENTRIES}). "
            "Un document ordinaire n'en a jamais autant ; enregistrez-le à nouveau depuis Word ou LibreOffice."
        )
    total = 0
    for info in entries:
        total += info.file_size
        if total > MAX_TOTAL_BYTES:
            return (
                f"Archive refusée : une fois décompressée elle dépasserait {MAX_TOTAL_BYTES // (1024 * 1024)} Mo. "
                "Réduisez la taille des images du document puis renvoyez-le."
            )
        if info.file_size > RATIO_MIN_BYTES and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            return (
                "Archive refusée : un de ses éléments se décompresse plus de "
                f"{MAX_RATIO} fois (« bombe » de décompression). Ce fichier n'est pas un document ordinaire."
            )
    return None
