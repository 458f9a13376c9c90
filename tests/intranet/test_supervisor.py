"""The supervisor of ``python -m intranet.serve``: back-off, restarts and stop, with real processes."""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path

import pytest

from intranet.background import WORKERS
from intranet.supervisor import Supervisor, backoff_delay


class Clock:
    """A clock the test moves by hand, so that back-off deadlines are exact."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def _wait_exit(sup: Supervisor, name: str) -> None:
    proc = sup.children[name].process
    assert proc is not None
    proc.wait(30)


def _wait_file(path: Path) -> None:
    deadline = time.monotonic() + 30
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.02)


def test_backoff_doubles_from_the_base_up_to_the_cap() -> None:
    assert [backoff_delay(n, base=1, cap=60) for n in range(9)] == [0, 1, 2, 4, 8, 16, 32, 60, 60]
    assert backoff_delay(1000, base=0.5, cap=30) == 30


def test_a_dying_child_is_restarted_after_a_growing_delay() -> None:
    clock = Clock()
    sup = Supervisor(base_delay=1, max_delay=60, stable_after=60, clock=clock)
    child = sup.add("crasher", _python("import sys; sys.exit(3)"))
    sup.start()
    first_pid = child.process.pid if child.process else 0
    _wait_exit(sup, "crasher")

    clock.now = 0.5
    assert sup.poll() == [child]
    assert child.exit_codes == [3] and child.failures == 1 and child.next_start == 1.5
    clock.now = 1.4
    assert sup.poll() == [] and child.restarts == 0  # not yet due
    clock.now = 1.5
    sup.poll()
    assert child.restarts == 1 and child.process is not None and child.process.pid != first_pid

    _wait_exit(sup, "crasher")
    clock.now = 2.0
    sup.poll()
    assert child.failures == 2 and child.next_start == 4.0  # 2 s after the second failure
    clock.now = 4.0
    sup.poll()
    _wait_exit(sup, "crasher")
    clock.now = 5.0
    sup.poll()
    assert child.failures == 3 and child.next_start == 9.0
    sup.stop(grace=5)


def test_a_child_that_ran_long_enough_starts_again_from_the_short_delay(tmp_path: Path) -> None:
    clock = Clock()
    sup = Supervisor(base_delay=1, max_delay=60, stable_after=60, clock=clock)
    child = sup.add("worker", _python("import time; time.sleep(60)"))
    child.failures = 5  # as if it had crashed five times in a row before
    sup.start()
    assert child.process is not None
    child.process.kill()
    child.process.wait(10)
    clock.now = 61.0  # it had been running for 61 s
    sup.poll()
    assert child.exit_codes == [-signal.SIGKILL] and child.failures == 1 and child.next_start == 62.0
    sup.stop(grace=5)


def test_a_child_declared_without_restart_stays_down() -> None:
    clock = Clock()
    sup = Supervisor(clock=clock)
    child = sup.add("web", _python("pass"), restart=False)
    sup.start()
    _wait_exit(sup, "web")
    clock.now = 1000.0
    assert sup.poll() == [child]
    clock.now = 2000.0
    sup.poll()
    assert child.restarts == 0 and child.exit_codes == [0]


def test_stop_terminates_then_kills_what_ignores_sigterm(tmp_path: Path) -> None:
    ready = tmp_path / "ready"
    sup = Supervisor()
    polite = sup.add("polite", _python("import time; time.sleep(60)"))
    stubborn = sup.add("stubborn", _python(
        "import signal, time, pathlib; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        f"pathlib.Path({str(ready)!r}).touch(); time.sleep(60)"))
    sup.start()
    _wait_file(ready)
    start = time.monotonic()
    codes = sup.stop(grace=1.0)
    took = time.monotonic() - start
    assert codes == {"polite": -signal.SIGTERM, "stubborn": -signal.SIGKILL}
    assert 1.0 <= took < 10
    assert polite.pid is None and stubborn.pid is None
    sup.poll()  # stopping: nothing comes back
    assert polite.restarts == 0 and stubborn.restarts == 0


def test_children_know_their_supervisor() -> None:
    sup = Supervisor(env={"PATH": "/usr/bin"})
    assert sup.env["INTRANET_SUPERVISOR_PID"].isdigit()
    with pytest.raises(ValueError):
        sup.add("a", ["true"]) and sup.add("a", ["true"])


def test_the_search_indexer_is_declared_as_a_background_worker() -> None:
    (indexer,) = [w for w in WORKERS if w.name == "indexer"]
    assert indexer.argv() == [sys.executable, "-m", "intranet", "indexer"]
    assert len({w.name for w in WORKERS}) == len(WORKERS)


def test_a_worker_whose_supervisor_is_gone_exits_at_once() -> None:
    import os
    import subprocess

    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "INTRANET_SUPERVISOR_PID": str(os.getpid())}
    alive = subprocess.run([sys.executable, "-m", "intranet", "--help"], env=env, cwd=root,
                           capture_output=True, text=True, timeout=60)
    assert alive.returncode == 0 and "indexer" in alive.stdout
    # Started by a supervisor that already died (its pid is not our parent): nothing runs.
    env["INTRANET_SUPERVISOR_PID"] = "1"
    orphan = subprocess.run([sys.executable, "-m", "intranet", "--help"], env=env, cwd=root,
                            capture_output=True, text=True, timeout=60)
    assert orphan.returncode == 0 and orphan.stdout == ""


def test_a_supervised_worker_may_fork_children_of_its_own() -> None:
    # Whoosh's multiprocess writer starts processes from the indexer: a daemonic
    # multiprocessing child would fail with « daemonic processes are not allowed to have children ».
    sup = Supervisor()
    child = sup.add("forker", _python(
        "import multiprocessing as mp\n"
        "if __name__ == '__main__':\n"
        "    p = mp.get_context('spawn').Process(target=print, args=('enfant',)); p.start(); p.join()\n"
        "    raise SystemExit(10 + p.exitcode)"))
    sup.start()
    _wait_exit(sup, "forker")
    assert child.process is not None and child.process.returncode == 10
    sup.stop(grace=5)
