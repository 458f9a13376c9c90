"""The pool of long-lived bounded extraction workers: replaced after N files, after any limit hit, crash or
kill; a hostile file fails only its own extraction; no worker outlives its pool."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest

from documents.extraction import Extraction, ExtractionPool, PoolSettings
from documents.extraction.pool import CRASH_REASON
from samplefiles import make_docx, make_long_pdf, make_pdf, make_truncated_pdf, make_zip_bomb, write_sample
from testkit import alive, children_of


def wait_until(condition, *, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


@pytest.fixture
def good(tmp_path: Path) -> Path:
    return write_sample(tmp_path / "bonne.docx", make_docx(["Convention régionale de Bretagne."]))


def test_a_worker_takes_many_files_then_is_replaced_after_max_files(tmp_path: Path) -> None:
    paths = [write_sample(tmp_path / f"c{i}.docx", make_docx([f"Convention numéro {i}."])) for i in range(7)]
    with ExtractionPool(PoolSettings(workers=1, max_files=3)) as pool:
        seen = []
        for index, path in enumerate(paths):
            assert pool.extract(path, "docx").text == f"Convention numéro {index}."
            seen.append(tuple(pool.pids))
        # Files 1-3 on the first worker, 4-6 on the second, 7 on a third: retired after its 3rd file.
        assert pool.starts == 3
        first, second, third = seen[0], seen[3], seen[6]
        assert seen[1] == first and seen[4] == second
        assert seen[2] == seen[5] == (), "retired right after its third file"
        assert len({first, second, third}) == 3 and all(len(pids) == 1 for pids in (first, second, third))


def test_workers_run_in_parallel_and_none_outlives_the_pool(tmp_path: Path) -> None:
    paths = [write_sample(tmp_path / f"p{i}.pdf", make_pdf([f"Bilan {i}"] * 20)) for i in range(6)]
    before = children_of(os.getpid())
    pool = ExtractionPool(PoolSettings(workers=2))
    futures = [pool.submit(path, "pdf") for path in paths]
    assert [f.result().pages for f in futures] == [20] * 6
    assert pool.starts == 2 and len(pool.pids) == 2
    pids = pool.pids
    pool.close()
    assert not any(alive(pid) for pid in pids)
    assert children_of(os.getpid()) <= before


def test_sigkill_of_a_busy_worker_fails_only_its_file(tmp_path: Path, good: Path) -> None:
    long = write_sample(tmp_path / "long.pdf", make_long_pdf(2000))
    with ExtractionPool(PoolSettings(workers=1)) as pool:
        pool.extract(good, "docx")  # the worker is up
        [pid] = pool.pids
        killer = threading.Timer(0.5, os.kill, (pid, signal.SIGKILL))
        killer.start()
        started = time.monotonic()
        result = pool.extract(long, "pdf", timeout=60)
        killer.join()
        assert time.monotonic() - started < 30
        assert result == Extraction(text=None, status="failed", reason=CRASH_REASON)
        assert pool.extract(good, "docx").text == "Convention régionale de Bretagne."
        assert pool.starts == 2 and pool.pids != [pid]


def test_a_worker_killed_while_idle_is_replaced_without_failing_the_next_file(good: Path) -> None:
    with ExtractionPool(PoolSettings(workers=1)) as pool:
        pool.extract(good, "docx")
        [pid] = pool.pids
        os.kill(pid, signal.SIGKILL)
        wait_until(lambda: not alive(pid))
        assert pool.extract(good, "docx").status == "ok"
        assert pool.starts == 2


def test_time_limit_fails_only_its_file_and_replaces_the_worker(tmp_path: Path, good: Path) -> None:
    long = write_sample(tmp_path / "long.pdf", make_long_pdf(2000))
    with ExtractionPool(PoolSettings(workers=1)) as pool:
        pool.extract(good, "docx")
        [pid] = pool.pids
        started = time.monotonic()
        result = pool.extract(long, "pdf", timeout=1)
        assert time.monotonic() - started < 3
        assert result.reason == "Extraction interrompue après 1 s : texte non indexé"
        assert not alive(pid)
        assert pool.extract(good, "docx").text == "Convention régionale de Bretagne."
        assert pool.starts == 2


def test_memory_limit_fails_only_its_file_and_replaces_the_worker(tmp_path: Path, good: Path) -> None:
    big = write_sample(tmp_path / "gros.txt", ("é" * 999 + "\n").encode() * 40_000)
    with ExtractionPool(PoolSettings(workers=1, memory_mb=200)) as pool:
        pool.extract(good, "docx")
        [pid] = pool.pids
        greedy = pool.extract(big, "txt", memory_mb=100, max_chars=50_000_000)
        assert greedy.status == "failed" and "mémoire" in (greedy.reason or "")
        wait_until(lambda: not alive(pid))  # a worker that hit a bound is not trusted with another file
        assert pool.extract(good, "docx").text == "Convention régionale de Bretagne."
        assert pool.starts == 2


def test_hostile_files_get_their_french_reason_and_the_worker_goes_on(tmp_path: Path, good: Path) -> None:
    hostile = {
        "bombe.docx": (make_zip_bomb("ratio"), "docx"),
        "coupé.pdf": (make_truncated_pdf(), "pdf"),
        "nuls.pdf": (b"\0" * 4096, "pdf"),
    }
    with ExtractionPool(PoolSettings(workers=1)) as pool:
        reasons = {}
        for name, (data, kind) in hostile.items():
            started = time.monotonic()
            result = pool.extract(write_sample(tmp_path / name, data), kind)
            assert time.monotonic() - started < 5, name
            assert result.status == "failed", name
            reasons[name] = result.reason
            assert pool.extract(good, "docx").text == "Convention régionale de Bretagne."
        nul_text = pool.extract(write_sample(tmp_path / "nuls.txt", "Été\0 à\0 Noël".encode()), "txt")
        assert pool.starts == 1, "a refused file is not a crash: the same worker carried on"
    assert reasons == {
        "bombe.docx": "Archive refusée : un de ses éléments se décompresse plus de 100 fois (« bombe » de "
                      "décompression). Ce fichier n'est pas un document ordinaire. Texte non indexé.",
        "coupé.pdf": "PDF endommagé ou illisible : texte non indexé",
        "nuls.pdf": "PDF endommagé ou illisible : texte non indexé",
    }
    assert nul_text.text == "Été à Noël"


def test_a_closed_pool_kills_a_busy_worker_and_its_file_fails(tmp_path: Path) -> None:
    long = write_sample(tmp_path / "long.pdf", make_long_pdf(2000))
    pool = ExtractionPool(PoolSettings(workers=1))
    future = pool.submit(long, "pdf", timeout=60)
    wait_until(lambda: len(pool.pids) == 1)
    [pid] = pool.pids
    time.sleep(0.3)
    pool.close()
    assert future.result(timeout=10).status == "failed"
    assert not alive(pid)


def test_uploads_reuse_this_process_pool(tmp_path: Path, good: Path) -> None:
    from documents.extraction import extract_text, shared_pool

    pool = shared_pool()
    assert extract_text(good, "docx").text == "Convention régionale de Bretagne."
    starts, pids = pool.starts, pool.pids
    for _ in range(5):
        assert extract_text(good, "docx").status == "ok"
    assert pids and (pool.starts, pool.pids) == (starts, pids), "the same long-lived workers read every file"
