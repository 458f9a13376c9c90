"""One fresh, limited worker process per job: ``check_template``, ``fields_for``, ``render``."""

from __future__ import annotations

import io
import json
import os
import pickle
import subprocess
import sys
import zipfile
from dataclasses import dataclass, field
from typing import Any

from documents.generation.analysis import _analyse
from documents.generation.catalogue import FieldSpec, specs_for_names
from documents.generation.errors import TemplateError
from documents.generation.limits import (
    _PROJECT_ROOT,
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_MEMORY,
    DEFAULT_TIMEOUT,
)
from documents.generation.rendering import (
    _render_failure,
    _render_in_process,
    _too_large_message,
)
from documents.generation.values import plain_context

# --------------------------------------------------------------------------- worker process

#: Interpreter of every worker process (one-shot and ``RenderWorker``). Under a server whose
#: ``sys.executable`` is not Python (uWSGI), set ``documents.generation.oneshot.WORKER_PYTHON``
#: to the virtualenv's python (setting it on ``documents.generation`` has no effect).
WORKER_PYTHON = sys.executable

_WORKER_CODE = (
    "import sys; sys.path.insert(0, sys.argv[1]); "
    "from documents.generation.oneshot import _worker_main; _worker_main()"
)


def _spawn_worker(code: str, *, stderr: int) -> subprocess.Popen[bytes]:
    """Start a sandbox worker running ``code`` with pipes on stdin/stdout."""
    # An empty environment: the worker runs untrusted templates and must not see the
    # web app's secrets (SECRET_KEY, database URL…) even through a sandbox escape.
    env = {"PATH": os.defpath, "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1"}
    try:
        return subprocess.Popen(
            [WORKER_PYTHON, "-I", "-c", code, str(_PROJECT_ROOT)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            env=env,
            cwd="/",
            close_fds=True,
        )
    except OSError as exc:
        raise TemplateError(
            f"Le moteur de génération n'a pas pu démarrer ({exc}) : réessayez plus tard.", status=503
        ) from None


def _run_worker(task: dict[str, Any], *, timeout: float, max_memory: int, max_output: int) -> bytes:
    """Run ``task`` in a fresh, limited Python process; return its payload or raise TemplateError."""
    request = pickle.dumps(
        {**task, "timeout": timeout, "max_memory": max_memory}, protocol=pickle.HIGHEST_PROTOCOL
    )
    proc = _spawn_worker(_WORKER_CODE, stderr=subprocess.PIPE)
    try:
        stdout, stderr = proc.communicate(request, timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise TemplateError(
            f"La génération a été arrêtée après {timeout:g} secondes : le modèle contient "
            "probablement une boucle trop longue ou sans fin. Corrigez le modèle.",
        ) from None
    if stdout[:2] == b"OK":
        return stdout[2:]
    if stdout[:2] == b"ER":
        try:
            error = json.loads(stdout[2:].decode("utf-8"))
            return _raise_worker_error(error)
        except (ValueError, KeyError, TypeError):
            pass
    if proc.returncode in (-9, -24, 137, 152) or b"MemoryError" in stderr:
        raise TemplateError(
            "La génération a été arrêtée : le modèle demande trop de temps de calcul ou de "
            "mémoire (boucle ou texte trop long). Corrigez le modèle."
        )
    raise TemplateError(
        f"Le moteur de génération s'est arrêté de façon inattendue (code {proc.returncode}).",
        status=500,
    )


def _raise_worker_error(error: dict[str, Any]) -> bytes:
    raise TemplateError(str(error["message"]), tag=error.get("tag"), status=error.get("status"))


def _set_limits(*, timeout: float, max_memory: int) -> None:
    import math
    import resource

    cpu = max(1, math.ceil(timeout)) + 1
    limits = [
        (resource.RLIMIT_CPU, (cpu, cpu + 1)),
        (resource.RLIMIT_AS, (max_memory, max_memory)),
        (resource.RLIMIT_FSIZE, (0, 0)),  # no file may be written
        (resource.RLIMIT_CORE, (0, 0)),
    ]
    for kind, value in limits:
        try:
            resource.setrlimit(kind, value)
        except (ValueError, OSError):
            pass  # a lower hard limit already applies


def _deterministic_zip() -> None:
    """Write .docx entries with a fixed date (worker processes only).

    python-docx stamps every zip entry with the current time, so the same model and values
    gave different bytes two seconds apart: the archive could then not see that a
    "regenerated" draft is identical to the current version. The date is the DOS epoch.
    """
    from zipfile import ZIP_DEFLATED, ZipInfo

    from docx.opc import phys_pkg

    def write(self: Any, pack_uri: Any, blob: bytes) -> None:
        info = ZipInfo(pack_uri.membername, date_time=(1980, 1, 1, 0, 0, 0))
        info.compress_type = ZIP_DEFLATED
        self._zipf.writestr(info, blob)

    phys_pkg._ZipPkgWriter.write = write  # type: ignore[method-assign]  # the one way to bound python-docx's output size: replace its zip writer


def _worker_main() -> None:
    """Entry point of the worker process: read a pickled task on stdin, answer on stdout."""
    out = sys.stdout.buffer
    request = pickle.loads(sys.stdin.buffer.read())
    _deterministic_zip()
    _set_limits(timeout=float(request["timeout"]), max_memory=int(request["max_memory"]))
    try:
        if request["task"] == "analyse":
            payload = json.dumps(_analyse(request["template"]), ensure_ascii=False).encode("utf-8")
        else:
            payload = _render_in_process(
                request["template"], request["context"], max_bytes=int(request["max_bytes"])
            )
    except TemplateError as exc:
        out.write(b"ER" + json.dumps({**exc.to_dict(), "status": exc.status}).encode("utf-8"))
    except MemoryError:
        out.write(b"ER" + json.dumps({"message": _render_failure(MemoryError(), "").message}).encode("utf-8"))
    except Exception as exc:  # noqa: BLE001 - never a bare traceback: the parent gets a French message
        out.write(b"ER" + json.dumps({"message": _render_failure(exc, "").message}).encode("utf-8"))
    else:
        out.write(b"OK" + payload)
    out.flush()


# --------------------------------------------------------------------------- public entry points


def fields_for(data: bytes, *, timeout: float = DEFAULT_TIMEOUT) -> list[FieldSpec]:
    """The fields a user must fill for this template, in order of first use."""
    analysis = _analyse_isolated(data, timeout=timeout)
    _raise_first(analysis)
    return specs_for_names(analysis["variables"], lists=analysis["lists"], objects=analysis["objects"])


@dataclass
class TemplateReport:
    """What ``check_template`` found: errors (each naming its tag) and the fields used."""

    errors: list[TemplateError] = field(default_factory=list)
    fields: list[str] = field(default_factory=list)
    lists: dict[str, list[str]] = field(default_factory=dict)
    objects: dict[str, list[str]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when the template can be stored and used."""
        return not self.errors

    def raise_if_invalid(self) -> None:
        """Raise the first error, for callers that want an exception."""
        if self.errors:
            raise self.errors[0]


def check_template(data: bytes, *, timeout: float = DEFAULT_TIMEOUT) -> TemplateReport:
    """Check an uploaded Word model; every problem is reported with the faulty tag."""
    try:
        analysis = _analyse_isolated(data, timeout=timeout)
    except TemplateError as exc:
        return TemplateReport(errors=[exc])
    return TemplateReport(
        errors=[TemplateError(e["message"], tag=e.get("tag")) for e in analysis["errors"]],
        fields=list(analysis["variables"]),
        lists=dict(analysis["lists"]),
        objects=dict(analysis["objects"]),
    )


def template_fields(data: bytes, *, timeout: float = DEFAULT_TIMEOUT) -> list[str]:
    """Names of the variables a template uses, in order of first use."""
    analysis = _analyse_isolated(data, timeout=timeout)
    _raise_first(analysis)
    return list(analysis["variables"])


def _raise_first(analysis: dict[str, Any]) -> None:
    if analysis["errors"]:
        first = analysis["errors"][0]
        raise TemplateError(first["message"], tag=first.get("tag"))


def _analyse_isolated(data: bytes, *, timeout: float) -> dict[str, Any]:
    payload = _run_worker(
        {"task": "analyse", "template": data},
        timeout=timeout,
        max_memory=DEFAULT_MAX_MEMORY,
        max_output=DEFAULT_MAX_BYTES,
    )
    result: dict[str, Any] = json.loads(payload.decode("utf-8"))
    return result


def render(
    template_bytes: bytes,
    values: dict[str, Any],
    *,
    timeout: float = DEFAULT_TIMEOUT,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_memory: int = DEFAULT_MAX_MEMORY,
) -> bytes:
    """Fill a Word model with values in a bounded worker process; return the .docx bytes."""
    context = plain_context(values)
    output = _run_worker(
        {"task": "render", "template": template_bytes, "context": context, "max_bytes": max_bytes},
        timeout=timeout,
        max_memory=max_memory,
        max_output=max_bytes,
    )
    if len(output) > max_bytes:
        raise TemplateError(_too_large_message(max_bytes))
    if not zipfile.is_zipfile(io.BytesIO(output)):
        raise TemplateError("La génération n'a pas produit de document Word valide.", status=500)
    return output
