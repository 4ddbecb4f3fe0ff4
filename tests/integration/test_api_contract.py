"""The OpenAPI document is a valid OpenAPI 3.1 one, served as generated, and the suite's check of every API
answer against it (tests/api_contract.py) refuses what the document does not describe."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openapi_spec_validator import validate

from cme_tracker.api.openapi import openapi_document
from tests.api_contract import ContractClient, ContractViolation, check_answer

COUNTS = "/api/v1/symposia/2026-05/attendance"
COUNTED = {
    "symposium_code": "2026-05",
    "date": "2026-05-16",
    "timezone": "Asia/Tokyo",
    "status": "scheduled",
    "now": "2026-05-16T02:00:00+00:00",
    "day": {"checked_in": 0, "inside_now": 0},
    "lectures": [],
}


def test_the_document_is_valid_openapi_3_1() -> None:
    validate(openapi_document())


def test_the_served_document_is_the_generated_one_built_once(client: FlaskClient) -> None:
    assert client.get("/api/v1/openapi.json").get_json() == openapi_document()
    assert openapi_document() is openapi_document()


def test_every_test_client_checks_the_answers(app: Flask) -> None:
    assert isinstance(app.test_client(), ContractClient)


def test_an_answer_as_documented_passes(app: Flask) -> None:
    check_answer(app, "GET", COUNTS, 200, COUNTED)
    check_answer(app, "GET", COUNTS, 404, {"error": "unknown_symposium", "message": "no", "details": None})


@pytest.mark.parametrize(
    ("status", "body", "problem"),
    [
        (200, {key: value for key, value in COUNTED.items() if key != "now"}, "'now' is a required property"),
        (200, {**COUNTED, "extra": 1}, "Additional properties are not allowed"),
        (200, {**COUNTED, "day": {"checked_in": "0", "inside_now": 0}}, "'0' is not of type 'integer'"),
        (404, {"error": "unknown_member", "message": "no", "details": None}, "is not one of"),
        (418, {"error": "teapot", "message": "no", "details": None}, "status 418 is not documented"),
    ],
    ids=["missing key", "extra key", "wrong type", "undocumented error code", "undocumented status"],
)
def test_an_answer_off_the_document_fails_naming_request_status_and_problem(
    app: Flask, status: int, body: object, problem: str
) -> None:
    with pytest.raises(ContractViolation) as caught:
        check_answer(app, "GET", COUNTS, status, body)
    assert f"GET {COUNTS} answered {status}" in str(caught.value)
    assert problem in str(caught.value)


def test_an_error_of_a_path_without_operation_is_shaped_as_every_error(app: Flask) -> None:
    check_answer(app, "GET", "/api/v1/nothing", 404, {"error": "not_found", "message": "no", "details": None})
    with pytest.raises(ContractViolation, match="'details' is a required property"):
        check_answer(app, "GET", "/api/v1/nothing", 404, {"error": "not_found", "message": "no"})
