"""Benchmark of drafting: time per filed draft vs a bare docxtpl render of the same template and values.

For each built-in model, in one run:

- bare docxtpl: ``DocxTemplate(...).render(context)`` + save, in this process, with docxtpl's
  plain unsandboxed Jinja (the baseline the issue sets);
- worker render: ``RenderWorker.render`` (sandbox, bounds, text extraction, pipe round trip);
- generate_draft: the whole verb: validation, render in the shared worker, upload checks,
  storage (fsync), database rows (document, version, provenance, audit, outbox), commit.

Then the all-regions batch (26 regions, ``generate_batch`` with its ZIP) against 26 bare
renders. Each iteration changes one value, so that every draft is a new file (the archive
refuses byte-identical duplicates); the bare render gets the same values.

    .venv/bin/python bench/drafting_bench.py --repeat 15
"""

from __future__ import annotations

import argparse
import gc
import io
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from docxtpl import DocxTemplate  # noqa: E402
from sqlalchemy import select  # noqa: E402

from documents import accounts, drafting, generation, migrate, reference  # noqa: E402
from documents.db import make_engine, make_session_factory  # noqa: E402
from documents.models import Organisation, Region  # noqa: E402
from documents.storage import LocalStorage  # noqa: E402

AMOUNTS = {
    "montant_mission_coordination": "12 500",
    "montant_projets_coordination": "8 000,50",
    "montant_formation": "3000",
    "montant_sensibilisation": "1 499,50",
}


def setup(root: Path) -> tuple[Any, LocalStorage, Any]:
    """A migrated SQLite database with the référentiel, an admin and the built-in models."""
    url = f"sqlite:///{root / 'bench.sqlite3'}"
    migrate.upgrade(url)
    session = make_session_factory(make_engine(url))()
    reference.load_reference(session)
    for org in session.scalars(select(Organisation)):
        org.address = org.address or f"{org.id} rue de la Paix, 75002 Paris"
        org.representative = org.representative or f"Madame Représentante {org.id}"
        org.representative_title = org.representative_title or "Directrice"
    admin = accounts.create_user(session, email="bench@passeurs.local", role="admin", region_code=None,
                                 password="Correct-cheval-batterie-agrafe", name="Bench")
    session.commit()
    store = LocalStorage(root / "files")
    drafting.load_builtin_models(session, store)
    return session, store, admin


@contextmanager
def quiet_gc() -> Iterator[None]:
    """Time one step without the garbage collector (as ``timeit`` does).

    Without this, the bare render's python-docx objects made a full collection fall on
    whichever step came next, and that step's median moved by several milliseconds.
    """
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def main() -> int:
    """Print the per-model table and the batch line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-redaction-"))
    session, store, admin = setup(root)
    worker = generation.shared_worker()

    print(f"{'modèle':30} {'docxtpl nu':>11} {'worker':>9} {'generate_draft':>15} {'ratio':>7}   (médianes, ms)")
    ratios = []
    for model in generation.BUILTIN_MODELS:
        info = drafting.get_template(session, store, model.slug)
        fields = drafting.template_fields(session, info)
        region = "11" if {"drac", "region"} & set(info.analysis["variables"]) else None
        raw = {**generation.sample_values(fields), **drafting.prefill(session, info, region, 2026)}
        data = drafting.read_bytes(store, info.version)
        varying = next(s.name for s in fields if s.type == "texte" and not s.computed and s.name != "region_nom")
        bare_t, worker_t, draft_t = [], [], []
        for i in range(args.repeat + 1):
            values_raw = {**raw, varying: f"{raw.get(varying) or 'valeur'} {i}"}
            values, errors = generation.validate_values(fields, values_raw)
            assert not errors, errors
            context = generation.plain_context(values)
            with quiet_gc():
                start = time.perf_counter()
                tpl = DocxTemplate(io.BytesIO(data))
                tpl.render(context)
                tpl.save(io.BytesIO())
                bare = time.perf_counter() - start
            with quiet_gc():
                start = time.perf_counter()
                worker.render(data, values, with_text=True)
                in_worker = time.perf_counter() - start
            values_raw[varying] += " bis"  # a new file, not the one the worker just made
            with quiet_gc():
                start = time.perf_counter()
                drafting.generate_draft(session, store, actor=admin, template=info, raw=values_raw,
                                        region_code=region, year=2026 + i)
                filed = time.perf_counter() - start
            if i:  # the first round warms caches (worker start, imports)
                bare_t.append(bare)
                worker_t.append(in_worker)
                draft_t.append(filed)
        ratio = median_ms(draft_t) / median_ms(bare_t)
        ratios.append(ratio)
        print(f"{model.slug:30} {median_ms(bare_t):11.1f} {median_ms(worker_t):9.1f} {median_ms(draft_t):15.1f} "
              f"{ratio:6.2f}×")

    info = drafting.get_template(session, store, "convention-drac-coordination")
    fields = drafting.template_fields(session, info)
    codes = list(session.scalars(select(Region.code).order_by(Region.code)))
    data = drafting.read_bytes(store, info.version)
    start = time.perf_counter()
    for code in codes:
        values, errors = generation.validate_values(fields, {**drafting.prefill(session, info, code, 2040), **AMOUNTS})
        assert not errors, errors
        tpl = DocxTemplate(io.BytesIO(data))
        tpl.render(generation.plain_context(values))
        tpl.save(io.BytesIO())
    bare_batch = time.perf_counter() - start
    start = time.perf_counter()
    result = drafting.generate_batch(session, store, actor=admin, template=info, year=2040,
                                     out_path=root / "lot.zip", rows={c: AMOUNTS for c in codes})
    batch = time.perf_counter() - start
    assert len(result.produced) == len(codes), [o.message for o in result.skipped]
    print(f"lot toutes régions ({len(codes)}) : {batch:.2f} s avec classement et ZIP "
          f"({batch / len(codes) * 1000:.0f} ms/brouillon) ; docxtpl nu : {bare_batch:.2f} s "
          f"({bare_batch / len(codes) * 1000:.0f} ms) ; ratio {batch / bare_batch:.2f}×")
    print(f"ratio médian generate_draft / docxtpl nu : {statistics.median(ratios):.2f}× (objectif ≤ 1,2×)")
    worker.close()
    session.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
