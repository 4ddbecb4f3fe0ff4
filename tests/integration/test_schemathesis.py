"""schemathesis against the generated OpenAPI document: every operation, as each role that may call it, never
answers 5xx and answers only what the document describes (status code, content type, headers, schema).

A bounded, deterministic run: Hypothesis with a fixed seed (``derandomize``), at most :data:`MAX_EXAMPLES`
generated requests per operation, role and data set, sent in-process to the Flask app over WSGI (no network).
Each operation is generated twice per principal: freely from the document, and with its path parameters set
to records that exist (the symposium day's codes, a member's number, an issued certificate, an attendance), so
that answers beyond 404 are exercised too. The figures (requests sent, responses by status and by operation)
are written to ``test-artifacts/schemathesis-DATABASE.json`` for the closing note.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import schemathesis
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy.orm import Session

from cme_tracker.vocabulary import Role
from tests.factories import attend
from tests.integration.checkin_data import Clock, Day, api_token, bearer, tokyo
from tests.integration.web_login import csrf_token, log_in, make_login

MAX_EXAMPLES = 5
"""Generated requests per operation, principal, mode and known input: bounds the run to about a minute on
either database on two cores."""
ANONYMOUS_EXAMPLES = 2
"""Anonymous requests only ever get 401 (or 400, 404 before the access check): a few per operation do."""
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
ARTIFACTS = Path("test-artifacts")


@dataclass
class Principal:
    name: str
    client: FlaskClient
    headers: dict[str, str] = field(default_factory=dict)


def _client(app: Flask) -> FlaskClient:
    """A plain test client: schemathesis checks each answer itself and collects every failure, where the
    suite's contract client would stop the run at the first."""
    return FlaskClient(app, app.response_class, use_cookies=True)


def _principals(app: Flask, session: Session) -> list[Principal]:
    principals = [Principal("anonymous", _client(app))]
    for role in (Role.ADMIN,):
        client = _client(app)
        login = f"schemathesis-{role.value}"
        make_login(session, login, role)
        assert log_in(client, login).status_code == 302
        principals.append(
            Principal(f"{role.value} session", client, {"X-CSRFToken": csrf_token(client, "/")})
        )
    for role in (Role.ADMIN, Role.DESK, Role.AUDITOR):
        token = api_token(session, f"schemathesis-{role.value}", role)
        principals.append(Principal(f"{role.value} token", _client(app), bearer(token)))
    return principals


def _known_path_parameters(day: Day, session: Session) -> dict[str, Any]:
    """Path parameters naming records that exist, so that the run also reaches the answers past a 404."""
    attendance = attend(session, day.members[0], day.lectures[0], "09:30")
    session.commit()
    return {"code": day.symposium.code, "member_no": day.members[0].member_no, "attendance_id": attendance.id}


def _known_bodies(day: Day) -> dict[str, list[dict[str, Any]]]:
    """Bodies that name records that exist, by operation: a scan in and out at the day's lecture."""
    scan = {"member_no": day.members[1].member_no, "lecture_code": day.lectures[0].code}
    return {"POST /api/v1/checkins": [{**scan, "direction": "in"}, {**scan, "direction": "out"}]}


def _send_examples(strategy: Any, principal: Principal, examples: int) -> list[tuple[int, str]]:
    """Each generated request's status, and what the checks found wrong with its answer ("" if nothing)."""
    sent: list[tuple[int, str]] = []

    @settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case: Any) -> None:
        response = case.call(session=principal.client, headers=principal.headers)
        try:
            case.validate_response(response, checks=CHECKS)
        except (FailureGroup, AssertionError) as error:  # every failure is collected, not only the first
            sent.append((response.status_code, str(error)))
        else:
            sent.append((response.status_code, ""))

    try:
        run()
    except Unsatisfiable:  # a negative run of an operation whose every input is fixed: nothing to break
        assert not sent
    return sent


def test_every_operation_answers_as_documented_and_never_5xx(
    app: Flask, session: Session, day: Day, clock: Clock
) -> None:
    clock.now = tokyo(day.symposium.held_on, "10:00")
    known = _known_path_parameters(day, session)
    bodies = _known_bodies(day)
    principals = _principals(app, session)
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    # the principal's own credentials, not generated ones (a generated session cookie would end the login)
    schema.config.generation.update(with_security_parameters=False)
    statuses: Counter[int] = Counter()
    by_operation: dict[str, Counter[int]] = {}
    by_principal: dict[str, Counter[int]] = {}
    failures: list[str] = []

    for result in schema.get_all_operations():
        operation = result.ok()
        label = operation.label
        counts = by_operation.setdefault(label, Counter())
        names = {parameter.name for parameter in operation.path_parameters}
        fixed = {name: known[name] for name in names if name in known}
        known_inputs: list[dict[str, Any]] = [{"path_parameters": fixed}] if fixed else []
        known_inputs += [{"body": body} for body in bodies.get(label, [])]
        for principal in principals:
            anonymous = principal.name == "anonymous"
            runs = [(GenerationMode.POSITIVE, {})]
            if not anonymous:
                runs.append((GenerationMode.NEGATIVE, {}))
                runs += [(GenerationMode.POSITIVE, inputs) for inputs in known_inputs]
            examples = ANONYMOUS_EXAMPLES if anonymous else MAX_EXAMPLES
            for mode, inputs in runs:
                strategy = operation.as_strategy(generation_mode=mode, **inputs)
                for status, failure in _send_examples(strategy, principal, examples):
                    statuses[status] += 1
                    counts[status] += 1
                    by_principal.setdefault(principal.name, Counter())[status] += 1
                    if failure:
                        failures.append(f"{principal.name} {mode} {label}: {failure}")

    summary = {
        "requests": sum(statuses.values()),
        "by_status": {str(code): count for code, count in sorted(statuses.items())},
        "server_errors": sum(count for code, count in statuses.items() if code >= 500),
        "by_operation": {
            label: {str(code): count for code, count in sorted(counts.items())}
            for label, counts in sorted(by_operation.items())
        },
        "by_principal": {
            name: {str(code): count for code, count in sorted(counts.items())}
            for name, counts in by_principal.items()
        },
        "max_examples": MAX_EXAMPLES,
        "failures": len(failures),
    }
    database = session.get_bind().dialect.name
    summary = {"database": database, **summary}
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"schemathesis-{database}.json").write_text(json.dumps(summary, indent=1) + "\n")
    print(json.dumps({key: summary[key] for key in ("requests", "by_status", "server_errors")}))
    assert not failures, "\n\n".join(
        dict.fromkeys(failure.split("\n")[0] + "\n" + failure[:1500] for failure in failures)
    )
    assert summary["server_errors"] == 0
