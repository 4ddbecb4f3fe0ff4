"""The API contract, checked on every answer the suite sees: each response to an ``/api/v1`` request made with
a Flask test client is validated against the OpenAPI document's schema for its operation and status.

tests/conftest.py makes :class:`ContractClient` every app's test client, so a test whose request gets an
answer the document does not describe (an undocumented status, a missing or extra key, a wrong type, an
error code not listed) fails, naming the request, the status and the problem. Live servers (browser tests,
the concurrency test) answer real HTTP clients and are not checked.
"""

from __future__ import annotations

import functools
from typing import Any
from urllib.parse import quote

from flask import Flask
from flask.testing import FlaskClient
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from werkzeug.exceptions import HTTPException
from werkzeug.test import TestResponse

from cme_tracker.api.blueprint import blueprint
from cme_tracker.api.openapi import JSON, openapi_document

API_PREFIX = "/api/v1"
_DOCUMENT_URI = "urn:cme-tracker:openapi"


class ContractViolation(AssertionError):
    """An answer the OpenAPI document does not describe."""


@functools.cache
def _registry() -> Registry[Any]:
    document = openapi_document()
    return Registry().with_resource(_DOCUMENT_URI, Resource.from_contents(document, DRAFT202012))


@functools.cache
def _operations() -> dict[str, tuple[str, str]]:
    """``operationId`` to the operation's path and method in the document."""
    return {
        operation["operationId"]: (path, method)
        for path, operations in openapi_document()["paths"].items()
        for method, operation in operations.items()
    }


def _pointer(*parts: str) -> str:
    return "/" + "/".join(part.replace("~", "~0").replace("/", "~1") for part in parts)


@functools.cache
def _validator(path: str, method: str, status: str) -> Draft202012Validator:
    pointer = _pointer("paths", path, method, "responses", status, "content", JSON, "schema")
    schema = {"$ref": f"{_DOCUMENT_URI}#{quote(pointer)}"}
    return Draft202012Validator(
        schema, registry=_registry(), format_checker=Draft202012Validator.FORMAT_CHECKER
    )


@functools.cache
def _component_validator(name: str) -> Draft202012Validator:
    schema = {"$ref": f"{_DOCUMENT_URI}#{_pointer('components', 'schemas', name)}"}
    return Draft202012Validator(
        schema, registry=_registry(), format_checker=Draft202012Validator.FORMAT_CHECKER
    )


def check_answer(app: Flask, method: str, path: str, status: int, body: Any) -> None:
    """Raise :class:`ContractViolation` unless ``body`` is what the document says ``method path`` answers with
    ``status``."""
    where = f"{method} {path} answered {status}"
    try:
        endpoint, _arguments = app.url_map.bind("localhost").match(path, method=method)
    except HTTPException:  # no such route, or a method it does not take
        endpoint = None
    operation = _operations().get(endpoint) if endpoint is not None else None
    if operation is None:
        if endpoint is not None and endpoint.startswith(f"{blueprint.name}."):
            raise ContractViolation(f"{where}: {endpoint} is not an operation of the OpenAPI document")
        # No API operation (or a route a test added under the prefix): its errors are shaped as every error.
        validator = _component_validator("Error")
    else:
        documented, documented_method = operation
        responses = openapi_document()["paths"][documented][documented_method]["responses"]
        if str(status) not in responses:
            raise ContractViolation(
                f"{where}: status {status} is not documented (only {', '.join(responses)})"
            )
        validator = _validator(documented, documented_method, str(status))
    error = best_match(validator.iter_errors(body))
    if error is not None:
        raise ContractViolation(f"{where}, off the OpenAPI document at {error.json_path}: {error.message}")


class ContractClient(FlaskClient):
    """A test client that checks every answer to an API request (see the module's docstring)."""

    def open(self, *args: Any, **kwargs: Any) -> TestResponse:
        response = super().open(*args, **kwargs)
        request = response.request
        if request.path.startswith(API_PREFIX) and request.method not in ("HEAD", "OPTIONS"):
            if not response.is_json:
                raise ContractViolation(
                    f"{request.method} {request.path} answered {response.status}, not JSON"
                )
            check_answer(self.application, request.method, request.path, response.status_code, response.json)
        return response
