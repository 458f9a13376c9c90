"""Logging of every process: one format on stderr, the level from ``INTRANET_LOG_LEVEL``."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ("import logging; from intranet.logs import configure_logging; configure_logging(); configure_logging(); "
          "log = logging.getLogger('documents.essai'); log.debug('détail'); log.info('bonjour'); log.warning('attention')")
LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d[+-]\d{4} \[(\d+)\] (\w+) ([\w.]+): (.*)$")


def _run(level: str | None) -> list[tuple[str, str, str]]:
    env = {k: v for k, v in os.environ.items() if k != "INTRANET_LOG_LEVEL"}
    if level is not None:
        env["INTRANET_LOG_LEVEL"] = level
    done = subprocess.run([sys.executable, "-c", SCRIPT], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0 and done.stdout == ""
    lines = []
    for raw in done.stderr.splitlines():
        match = LINE.match(raw)
        assert match, f"not in the shared format: {raw!r}"
        lines.append((match[2], match[3], match[4]))
    return lines


@pytest.mark.parametrize(("level", "expected"), [
    (None, ["bonjour", "attention"]),
    ("debug", ["détail", "bonjour", "attention"]),
    ("WARNING", ["attention"]),
])
def test_level_from_the_environment_and_one_handler(level: str | None, expected: list[str]) -> None:
    assert [message for _, _, message in _run(level)] == expected


def test_an_unknown_level_falls_back_to_info_and_says_so() -> None:
    lines = _run("bavard")
    assert lines[0] == ("WARNING", "intranet.logs", "INTRANET_LOG_LEVEL='BAVARD' is not a logging level; using INFO")
    assert [m for _, _, m in lines[1:]] == ["bonjour", "attention"]


def test_the_command_line_logs_in_the_same_format(tmp_path: Path) -> None:
    env = {**os.environ, "INTRANET_DATA_DIR": str(tmp_path), "INTRANET_LOG_LEVEL": "INFO"}
    env.pop("DATABASE_URL", None)
    done = subprocess.run([sys.executable, "-m", "intranet", "bootstrap"], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    # Creating the first administrator is audited: the audit logger reaches stderr.
    audit = [LINE.match(line) for line in done.stderr.splitlines() if " intranet.audit: " in line]
    assert audit and all(m is not None and m[2] == "INFO" for m in audit)
