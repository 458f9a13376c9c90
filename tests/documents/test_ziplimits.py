"""The one zip-bomb guard: each bound holds exactly at its value and refuses one past it."""

from __future__ import annotations

import zipfile

from documents import ziplimits


def entry(name: str, size: int, compressed: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.file_size = size
    info.compress_size = compressed
    return info


def test_limits_are_the_documented_ones() -> None:
    assert (ziplimits.MAX_ENTRIES, ziplimits.MAX_TOTAL_BYTES, ziplimits.MAX_RATIO) == (2000, 200 * 1024 * 1024, 100)


def test_entries_bound() -> None:
    at_limit = [entry(f"e{i}.xml", 10, 10) for i in range(ziplimits.MAX_ENTRIES)]
    assert ziplimits.zip_bomb_message(at_limit) is None
    message = ziplimits.zip_bomb_message([*at_limit, entry("one-more.xml", 10, 10)])
    assert message == (
        "Archive refusée : elle contient 2001 éléments (maximum 2000). Un document ordinaire n'en a "
        "jamais autant ; enregistrez-le à nouveau depuis Word ou LibreOffice."
    )


def test_total_bound() -> None:
    # Pictures barely compress: 200 one-MB entries stored as they are.
    mb = 1024 * 1024
    at_limit = [entry(f"image{i}.png", mb, mb) for i in range(200)]
    assert ziplimits.zip_bomb_message(at_limit) is None
    message = ziplimits.zip_bomb_message([*at_limit, entry("last.png", 1, 1)])
    assert message is not None and "dépasserait 200 Mo" in message


def test_ratio_bound() -> None:
    big = ziplimits.RATIO_MIN_BYTES + 100
    assert ziplimits.zip_bomb_message([entry("a.xml", big, -(-big // 100))]) is None
    message = ziplimits.zip_bomb_message([entry("a.xml", big, big // 100 - 1)])
    assert message is not None and "plus de 100 fois (« bombe » de décompression)" in message


def test_small_entries_may_compress_as_much_as_they_like() -> None:
    small = ziplimits.RATIO_MIN_BYTES
    assert ziplimits.zip_bomb_message([entry("a.xml", small, 1)]) is None
