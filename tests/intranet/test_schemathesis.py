"""schemathesis over the live app's own OpenAPI description: no 5xx, whatever a client sends.

Every operation gets a bounded number of generated requests, valid and invalid, with an
administrator's token and with a regional token, on each database backend. A single 5xx, an
undeclared status, a wrong content type or a body that does not match the declared schema
fails the test; the failures of all operations are reported together.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import time
from collections import Counter
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from documents import accounts
from documents.committees.dates import paris_datetime
from documents.committees.meetings import MeetingInput, schedule_meeting
from testkit import committee, file_builtin_models, user, with_committees

#: Generated requests per operation and generation mode; the CI budget is a few minutes per backend.
EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "8"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]


class Drained:
    """The app as a WSGI callable that reads and closes every answer (file downloads included).

    schemathesis' WSGI transport never closes a streamed response: without this, each
    downloaded version would leave its file open. It also counts the statuses it sees.
    """

    def __init__(self, app: Any) -> None:
        self.app = app
        self.statuses: Counter[int] = Counter()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        def record(status: str, headers: Any, exc_info: Any = None) -> Any:
            self.statuses[int(status.split()[0])] += 1
            return start_response(status, headers, exc_info)

        result = self.app(environ, record)
        try:
            return [b"".join(result)]
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()


def fuzz(app: Any, headers: dict[str, str], known: dict[str, Any]) -> tuple[Counter[int], list[str]]:
    """Run every operation of /api/v1/openapi.json; (statuses seen, failures).

    Each operation is fuzzed with generated data (valid, then invalid) and, when its path
    names objects, once more with the ``known`` ids of real objects so that the views' own
    validation is reached, not only the 404 of an unknown id.
    """
    drained = Drained(app)
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", drained)
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        names = set(re.findall(r"{([^}]+)}", operation.path))
        runs = [(mode.value, operation.as_strategy(generation_mode=mode))
                for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)]
        if names:
            # A model for /templates/{id}; another one for /documents/{id}, which the admin may trash.
            fixed = {name: known["slug" if operation.path.startswith("/templates") and name == "id" else name]
                     for name in names}
            runs.append(("known", operation.as_strategy(path_parameters=fixed)))
        for label, strategy in runs:

            @given(case=strategy)
            @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                      phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
            def run(case: Any) -> None:
                response = case.call(headers=headers)
                case.validate_response(response, checks=CHECKS)

            try:
                run()
            except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - collect them all, then fail once
                failures.append(f"{operation.label} [{label}]: {exc}"[:3000])
    drained.statuses[200] -= 1  # the description itself, fetched once by from_wsgi
    return drained.statuses, failures


def seed(app: Any, session: Any) -> dict[str, Any]:
    """Real objects (models, a document of region 11, a meeting of region 11); their path values."""
    models = file_builtin_models(app, session)
    with_committees(session)
    meeting = schedule_meeting(session, committee(session, "regional-11"), actor=user(session, "admin"),
                               data=MeetingInput(starts_at=paris_datetime(dt.date(2026, 3, 12), dt.time(14)),
                                                 title="Comité", place="Salle"))
    session.commit()
    first, second = sorted(models)[:2]
    return {"id": models[second], "n": 1, "meeting_id": meeting.id, "slug": first, "code": "11"}


@pytest.mark.parametrize("who", ["admin", "idf"])
def test_api_answers_no_5xx_and_matches_its_openapi_description(app: Any, db_session: Any, who: str,
                                                                database_url: str) -> None:
    known = seed(app, db_session)
    _token, plaintext = accounts.create_token(db_session, user(db_session, who), "schemathesis")
    db_session.commit()
    started = time.monotonic()
    statuses, failures = fuzz(app, {"Authorization": f"Bearer {plaintext}"}, known)
    elapsed = time.monotonic() - started
    backend = database_url.split(":", 1)[0]
    print(f"\nschemathesis {backend} {who}: {sum(statuses.values())} requests in {elapsed:.1f} s, "
          f"statuses {dict(sorted(statuses.items()))}")
    assert not failures, "\n\n".join(failures)
    assert not [s for s in statuses if s >= 500]
    # The run really exercised the API: successes and refusals both happened.
    assert any(200 <= s < 300 for s in statuses) and any(400 <= s < 500 for s in statuses)
