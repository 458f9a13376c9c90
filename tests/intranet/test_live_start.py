"""The product started exactly as ``make run`` starts it, with real processes and a real port.

``intranet bootstrap`` then ``python -m intranet.serve --bind 127.0.0.1:<port> --workers 1`` on a
fresh data folder (SQLite, and PostgreSQL when ``TEST_DATABASE_URL`` is set): a .docx archived
through the API is found by ``/api/v1/search``; the indexer killed with SIGKILL is restarted by
the supervisor (new pid, fresh heartbeat) and a second document is found too; SIGTERM stops all.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docx
import pytest

from documents.indexer import REINDEX_MARKER
from testkit import empty_database

ROOT = Path(__file__).resolve().parents[2]
BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])
#: The issue's bound: an archived document is searchable within this many seconds.
FOUND_WITHIN = 15.0

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _intranet(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    # The console script that `make run` calls (`.venv/bin/intranet`), beside this interpreter.
    script = Path(sys.executable).with_name("intranet")
    argv = [str(script)] if script.exists() else [sys.executable, "-m", "intranet"]
    done = subprocess.run([*argv, *args], env=env, cwd=ROOT, input=stdin, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, f"intranet {' '.join(args)}: {done.stderr[-2000:]}"
    return done.stdout


def _docx(*paragraphs: str) -> bytes:
    document = docx.Document()
    for text in paragraphs:
        document.add_paragraph(text)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _multipart(fields: dict[str, str], filename: str, data: bytes, content_type: str) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
             for k, v in fields.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
                 f"Content-Type: {content_type}\r\n\r\n".encode() + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


class Live:
    """HTTP calls to the running server."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.token = ""

    def get(self, path: str) -> tuple[int, Any]:
        request = urllib.request.Request(self.base + path, headers={"Authorization": f"Bearer {self.token}"})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            return exc.code, None
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return 0, None

    def archive_docx(self, word: str) -> int:
        body, content_type = _multipart(
            {"title": f"Convention {word}"}, f"convention-{word}.docx",
            _docx("Convention de partenariat", f"Le mot {word} figure dans ce document."),
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document")
        request = urllib.request.Request(self.base + "/api/v1/documents", data=body, method="POST",
                                         headers={"Authorization": f"Bearer {self.token}",
                                                  "Content-Type": content_type})
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 201
            return int(json.loads(response.read())["id"])

    def seconds_until_found(self, word: str, limit: float = FOUND_WITHIN) -> float:
        start = time.monotonic()
        while time.monotonic() - start < limit:
            status, payload = self.get(f"/api/v1/search?q={word}")
            if status == 200 and payload["total"] >= 1:
                return time.monotonic() - start
            time.sleep(0.25)
        pytest.fail(f"« {word} » archived through the API was not found by /api/v1/search within {limit:.0f} s")

    def sante(self) -> dict[str, Any]:
        status, payload = self.get("/sante")
        assert status == 200
        return payload


def _ppid(pid: int) -> int:
    # Field 4 of /proc/<pid>/stat, after the parenthesised command name.
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[1])


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


@pytest.fixture(params=BACKENDS)
def live_env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    """The environment of ``make run`` on a fresh data folder and database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INTRANET_", "DATABASE_URL"))}
    env["INTRANET_DATA_DIR"] = str(tmp_path / "instance")
    env["INTRANET_LOG_LEVEL"] = "INFO"
    if request.param == "sqlite":
        yield env
        return
    with empty_database("postgresql", tmp_path) as url:
        env["DATABASE_URL"] = url
        yield env


def test_make_run_indexes_archives_and_restarts_a_killed_indexer(live_env: dict[str, str], tmp_path: Path) -> None:
    port = _free_port()
    _intranet(live_env, "bootstrap")
    log = (tmp_path / "serve.log").open("wb")
    server = subprocess.Popen([sys.executable, "-m", "intranet.serve", "--bind", f"127.0.0.1:{port}",
                               "--workers", "1"], env=live_env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                              start_new_session=True)
    live = Live(f"http://127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + 60
        while live.get("/sante")[0] != 200:
            assert server.poll() is None, (tmp_path / "serve.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "the server did not answer /sante within 60 s"
            time.sleep(0.25)
        _intranet(live_env, "create-user", "live@example.org", "--role", "admin", "--password-stdin",
                  stdin="Vitrail-Orange-Tilleul-2026\n")
        live.token = _intranet(live_env, "create-token", "live@example.org", "--name", "live").strip().splitlines()[-1]

        first = f"zephyrlive{uuid.uuid4().hex[:8]}"
        live.archive_docx(first)
        took = live.seconds_until_found(first)
        print(f"first document found {took:.1f} s after its upload")

        health = live.sante()
        indexer = health["indexer"]
        assert indexer["alive"] and indexer["mode"] == "worker" and indexer["heartbeat_age"] < 15
        old_pid = indexer["pid"]
        assert _ppid(old_pid) == server.pid, "the indexer runs as a child of intranet.serve"
        assert health["outbox"]["pending"] == 0 and health["outbox"]["failed"] == 0

        os.kill(old_pid, signal.SIGKILL)
        deadline = time.monotonic() + 20
        while True:
            indexer = live.sante()["indexer"]
            if indexer["pid"] != old_pid and indexer["alive"] and indexer["heartbeat_age"] < 15:
                break
            assert time.monotonic() < deadline, f"the killed indexer was not restarted: {indexer}"
            time.sleep(0.25)
        new_pid = indexer["pid"]
        assert _alive(new_pid) and _ppid(new_pid) == server.pid

        second = f"zephyrlive{uuid.uuid4().hex[:8]}"
        live.archive_docx(second)
        live.seconds_until_found(second)
        assert live.get(f"/api/v1/search?q={first}")[1]["total"] == 1

        # A full rebuild (what a lost or corrupted index triggers) runs in the restarted indexer.
        marker = Path(live_env["INTRANET_DATA_DIR"]) / "index" / REINDEX_MARKER
        marker.write_text("1")
        deadline = time.monotonic() + 30
        while marker.exists():
            assert time.monotonic() < deadline, "the indexer did not rebuild the index"
            time.sleep(0.25)
        assert [live.get(f"/api/v1/search?q={w}")[1]["total"] for w in (first, second)] == [1, 1]
        assert live.sante()["indexer"]["pid"] == new_pid

        children = [int(p) for p in Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()]
        # gunicorn, the indexer, the OCR, mail and thumbnail workers, the scheduler
        assert new_pid in children and len(children) == 6
        assert [(w["name"], w["alive"]) for w in live.sante()["workers"]] == [
            ("ocr", True), ("mail-worker", True), ("scheduler", True), ("thumbnails", True)]
        server.send_signal(signal.SIGTERM)
        assert server.wait(45) == 0
        time.sleep(0.5)
        assert not any(_alive(pid) for pid in children), "SIGTERM to intranet.serve stops gunicorn and the workers"
        output = (tmp_path / "serve.log").read_text()
        assert f"indexer (pid {old_pid}) exited with code -9; restart in 1 s" in output
        assert re.search(rf"\[{new_pid}\] WARNING documents\.indexer: search index rebuilt: \d+ entries", output)
        assert "Traceback" not in output
        # logger.info in a web worker reaches the log: the audit line of each upload, from gunicorn's worker.
        uploads = re.findall(r"\[(\d+)\] INFO intranet\.audit: document\.\S+ ok ", output)
        assert len(uploads) >= 2 and not {int(pid) for pid in uploads} & {server.pid, old_pid, new_pid}
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(10)
        log.close()


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_run_gives_the_public_base_url_from_host_and_port(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "INTRANET_BASE_URL"}
    env["INTRANET_DATA_DIR"] = str(tmp_path)

    def dry_run(env: dict[str, str]) -> str:
        done = subprocess.run(["make", "-n", "run", "HOST=127.0.0.1", "PORT=8123"], env=env, cwd=ROOT,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return done.stdout

    assert "Intranet : http://127.0.0.1:8123 " in dry_run(env)
    assert "intranet.serve --bind 127.0.0.1:8123" in dry_run(env)
    assert "Intranet : https://intranet.example.org " in dry_run({**env, "INTRANET_BASE_URL": "https://intranet.example.org"})
