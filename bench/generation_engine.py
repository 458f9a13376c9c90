"""Benchmark of documents.generation: cost of the sandbox and of the worker process.

For each built-in model, filled with the catalogue examples, times:

- bare docxtpl: ``DocxTemplate(...).render(values)`` with docxtpl's plain, unsandboxed
  Jinja environment (what the engine must not do, the baseline);
- sandbox in process: our checks + ``ImmutableSandboxedEnvironment`` render, same process;
- ``render()``: the full path, in a fresh worker process with rlimits and a timeout;
- ``check_template()``: the upload check (also in a worker).

    .venv/bin/python bench/generation_engine.py --repeat 10
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from docxtpl import DocxTemplate  # noqa: E402

from documents import generation as g  # noqa: E402


def timed(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Median and max wall time of ``fn`` in milliseconds (one warm-up call first)."""
    fn()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples), max(samples)


def main() -> int:
    """Print a table of median/max times per model and path."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()

    print(f"{'modèle':32} {'docxtpl nu':>14} {'bac à sable':>14} {'render()':>14} {'check':>14}   (médiane/max, ms)")
    overheads = []
    for model in g.BUILTIN_MODELS:
        data = model.read_bytes()
        fields = g.fields_for(data)
        values, errors = g.validate_values(fields, g.sample_values(fields))
        assert not errors, errors
        context = g.plain_context(values)

        def bare() -> None:
            tpl = DocxTemplate(io.BytesIO(data))
            tpl.render(context)
            tpl.save(io.BytesIO())

        results = [
            timed(bare, args.repeat),
            timed(lambda: g._render_in_process(data, context), args.repeat),
            timed(lambda: g.render(data, values), args.repeat),
            timed(lambda: g.check_template(data), args.repeat),
        ]
        overheads.append(results[2][0] - results[0][0])
        cells = " ".join(f"{med:7.1f}/{mx:6.1f}" for med, mx in results)
        print(f"{model.slug:32} {cells}")
    print(f"surcoût médian de render() sur docxtpl nu : {statistics.median(overheads):.0f} ms "
          "(démarrage du processus isolé + contrôles + bac à sable)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
