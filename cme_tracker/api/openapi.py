"""The OpenAPI 3.1 document of /api/v1, generated with apispec from the marshmallow schemas the views load and
dump with, and served at ``GET /api/v1/openapi.json``.

:data:`OPERATIONS` is the one hand-written part: for each operation its method, path, view, summary, request
schema, answers by status and the error codes it may return. The roles come from the views' own declarations
(``x-roles``, ``x-api-client-roles``), so the document cannot drift from what the access check enforces, and
the test suite checks every API answer it sees against the document (tests/api_contract.py).
"""

from __future__ import annotations

import functools
import re
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from apispec.ext.marshmallow.common import resolve_schema_instance
from apispec.ext.marshmallow.openapi import OpenAPIConverter
from flask.typing import ResponseReturnValue
from marshmallow import Schema, fields

from cme_tracker.api import accounts, attendance, certificates, imports, jobs, members, policies, program
from cme_tracker.api.blueprint import blueprint
from cme_tracker.api.operations import Operation, Reply
from cme_tracker.api.responses import (
    CertificateSchema,
    MemberSearchSchema,
    ScanResultSchema,
    SymposiumCountsSchema,
    VoidedAttendanceSchema,
)
from cme_tracker.api.schemas import (
    ApiSchema,
    CheckinSchema,
    CreditsQuerySchema,
    SearchQuerySchema,
    VoidSchema,
)
from cme_tracker.api.views import attendance_counts, checkins, credits, member_search, void
from cme_tracker.credits.schemas import MemberCreditsSchema
from cme_tracker.dumps import Amount, Answer, LocalTime
from cme_tracker.tabular.cells import Choice, Text
from cme_tracker.web.errors import ErrorSchema
from cme_tracker.web.hygiene import MAX_PATH_INTEGER
from cme_tracker.web.security import CLIENT_ACCESS_ATTRIBUTE, PUBLIC, declared_access, public

JSON = "application/json"
_ERROR_REF = {"$ref": "#/components/schemas/Error"}
_ERROR_REASONS = {
    400: "A NUL byte, a lone surrogate or JSON nested too deeply (`refused_input`), or the CSRF token of a "
    "session's POST is missing or no longer valid (`csrf_failed`).",
    401: "No bearer token or session, or an unknown or revoked token.",
    403: "The role may not use this operation.",
    404: "Not found.",
    405: "The path, with a value its parameter does not take, is that of another operation's method.",
    409: "Conflict with the state of the records.",
    428: "An edit without `If-Match` (`precondition_required`).",
    413: "The body is larger than the instance accepts (`CME_MAX_REQUEST_BYTES`).",
    412: "The record was changed since the version `If-Match` names (`version_mismatch`; "
    "`details.current_version`).",
    422: "Invalid body or query (`invalid`: the problem of each field is in `details`).",
}


@blueprint.get("/openapi.json")
@public
def openapi() -> ResponseReturnValue:
    """The OpenAPI 3.1 description of this API, with the roles each operation admits."""
    return openapi_document()


CORE_OPERATIONS = (
    Operation(
        "post",
        "/api/v1/checkins",
        checkins,
        "Record a check-in or check-out scan",
        description="Scans apply in scan-time order, never twice. A refused scan writes nothing, except an "
        "`out` with nothing open, which is kept (409 `not_checked_in`, with the scan result in `details`) so "
        "that an offline `in` synced later is closed by it. `not_open`: not the symposium's date; `busy`: "
        "scan again.",
        body=CheckinSchema,
        replies={
            201: Reply(ScanResultSchema, "An attendance was opened or closed."),
            200: Reply(
                ScanResultSchema, "`already_checked_in` or `already_checked_out`: a repeat or a retry."
            ),
        },
        errors={
            404: ("unknown_member", "unknown_card", "card_replaced", "unknown_lecture", "unknown_symposium"),
            409: (
                "symposium_closed",
                "not_open",
                "lecture_over",
                "not_checked_in",
                "busy",
                "nonce_reused",
                "merged_member",
            ),
            422: ("invalid", "lecture_not_in_symposium"),
        },
    ),
    Operation(
        "post",
        "/api/v1/attendances/<int:attendance_id>/void",
        void,
        "Undo a scan: void its attendance",
        description="The row is kept, marked void with the reason, and audited. A desk may void only an "
        "attendance that one of its own scans opened or closed, within 10 minutes of that scan, at an open "
        "symposium (otherwise `not_own_scan`, `symposium_closed` or `too_late_to_undo`); admins any.",
        body=VoidSchema,
        replies={200: Reply(VoidedAttendanceSchema, "Voided.")},
        errors={
            403: ("not_own_scan",),
            404: ("unknown_attendance",),
            409: ("already_voided", "symposium_closed", "too_late_to_undo"),
            422: ("invalid",),
        },
    ),
    Operation(
        "get",
        "/api/v1/symposia/<code>/attendance",
        attendance_counts,
        "Live counts of a symposium",
        replies={200: Reply(SymposiumCountsSchema, "Per lecture and for the whole day.")},
        errors={404: ("unknown_symposium",)},
    ),
    Operation(
        "get",
        "/api/v1/members/search",
        member_search,
        "Find members by name (kanji, kana, romaji) or number",
        query=SearchQuerySchema,
        replies={200: Reply(MemberSearchSchema, "The matching active members, exactly that number first.")},
        errors={422: ("invalid",)},
    ),
    Operation(
        "get",
        "/api/v1/members/<member_no>/credits",
        credits,
        "A member's credits for a calendar or fiscal year",
        description="The same shape as `cme-tracker credits show --json`. A member's own session may read "
        "only their own number.",
        query=CreditsQuerySchema,
        replies={200: Reply(MemberCreditsSchema, "Every enabled policy that applies.")},
        errors={404: ("unknown_member",), 422: ("invalid",)},
    ),
    Operation(
        "get",
        "/api/v1/certificates/<serial>",
        certificates.certificate,
        "A certificate's status and what it certifies",
        description="Admins and auditors may read any certificate; a member's own session only their own, "
        "and another's answers 404 like an unknown serial. Anyone holding the verification code may also "
        "use the public `GET /verify/{serial}.json?c=CODE`, which shows less.",
        replies={200: Reply(CertificateSchema, "Valid, revoked or superseded, as frozen when issued.")},
        errors={404: ("unknown_certificate",)},
    ),
    Operation(
        "get", "/api/v1/openapi.json", openapi, "This document", replies={200: Reply(None, "OpenAPI 3.1")}
    ),
)

OPERATIONS: tuple[Operation, ...] = (
    *CORE_OPERATIONS,
    *program.OPERATIONS,
    *accounts.OPERATIONS,
    *imports.OPERATIONS,
    *policies.OPERATIONS,
    *attendance.OPERATIONS,
    *jobs.OPERATIONS,
    *members.OPERATIONS,
)
"""Every operation of the document: an API module adds its own ``OPERATIONS`` here."""

_PATH_INTEGER = {"type": "integer", "minimum": 0, "maximum": MAX_PATH_INTEGER}
"""An ``<int:...>`` matches digits only, up to what an INTEGER column holds; any other is no such path."""
_PARAMETER = re.compile(r"<(?:(?P<converter>[a-z]+):)?(?P<name>[a-z_]+)>")


class _Converter(OpenAPIConverter):
    """apispec's converter, which also marks an answer's fields required (see :class:`Answer`) and shows the
    limits of the request fields shared with the importers (:class:`Text`, :class:`Choice`)."""

    def schema2jsonschema(self, schema: Any) -> dict[str, Any]:
        jsonschema: dict[str, Any] = super().schema2jsonschema(schema)  # type: ignore[no-untyped-call]
        instance = resolve_schema_instance(schema)
        if isinstance(instance, Answer):
            jsonschema["required"] = sorted(set(jsonschema["properties"]) - instance.optional)
        return jsonschema


class _Plugin(MarshmallowPlugin):
    Converter = _Converter


def _text_limits(_converter: OpenAPIConverter, field: fields.Field[Any], **_kwargs: Any) -> dict[str, Any]:
    if isinstance(field, Choice):
        return {"enum": list(field.choices)}
    if isinstance(field, Text):
        return {"maxLength": field.max_length}
    return {}


def _schema_name(schema: Any) -> str:
    """``ScanResultSchema`` is ``ScanResult``; a request body's, ``CheckinSchema``, is ``CheckinRequest``."""
    instance = resolve_schema_instance(schema)
    name = type(instance).__name__.removesuffix("Schema")
    return f"{name}Request" if isinstance(instance, ApiSchema) else name


def _path(rule: str) -> tuple[str, list[dict[str, Any]]]:
    """The OpenAPI path of a Flask rule, and its path parameters."""
    parameters = [
        {
            "name": match["name"],
            "in": "path",
            "required": True,
            "schema": _PATH_INTEGER if match["converter"] == "int" else {"type": "string"},
        }
        for match in _PARAMETER.finditer(rule)
    ]
    return _PARAMETER.sub(r"{\g<name>}", rule), parameters


def _reply(schema: type[Schema] | dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": schema}}}


def _error_replies(operation: Operation, *, protected: bool) -> dict[str, Any]:
    """Each error status with the codes it may carry; the schema names them, so an undocumented code fails
    the suite's check of the answers."""
    codes: dict[int, tuple[str, ...]] = {400: ("refused_input",)}
    if _PARAMETER.search(operation.path):
        # a path parameter the route does not match (a slash, an id out of range) is no such path, or the
        # path of another operation that takes another method
        codes |= {404: ("not_found",), 405: ("method_not_allowed",)}
    writes = operation.method != "get"
    if writes:
        codes[413] = ("too_large",)
    if operation.versioned and writes:
        # a malformed If-Match is refused as invalid before the body is read (api/versions.py)
        codes |= {412: ("version_mismatch",), 422: ("invalid",), 428: ("precondition_required",)}
    if protected:
        codes |= {401: ("unauthorized",), 403: ("forbidden",)}
        if writes:
            codes[400] = ("refused_input", "csrf_failed")
    for status, extra in operation.errors.items():
        codes[status] = tuple(dict.fromkeys((*codes.get(status, ()), *extra)))
    replies: dict[str, Any] = {}
    for status, names in sorted(codes.items()):
        listed = ", ".join(f"`{name}`" for name in names)
        schema = {"allOf": [_ERROR_REF], "properties": {"error": {"enum": list(names)}}}
        replies[str(status)] = _reply(schema, f"{_ERROR_REASONS[status]} Codes: {listed}.")
    return replies


def _file_body(media_types: tuple[str, ...]) -> dict[str, Any]:
    """A body that is a file: the body itself, in one of ``media_types``, or a multipart ``file`` part."""
    content: dict[str, Any] = {
        media: {"schema": {"type": "string", "contentMediaType": media}} for media in media_types
    }
    content["multipart/form-data"] = {
        "schema": {
            "type": "object",
            "properties": {"file": {"type": "string", "contentMediaType": "application/octet-stream"}},
            "required": ["file"],
        }
    }
    return {"required": True, "content": content}


def _operation(operation: Operation) -> dict[str, Any]:
    """The operation object, marked with the roles its view admits (users and API clients)."""
    _, parameters = _path(operation.path)
    access = declared_access(operation.view)
    protected = access is not None and access != PUBLIC
    described: dict[str, Any] = {
        "operationId": f"{blueprint.name}.{operation.view.__name__}",
        "summary": operation.summary,
    }
    if operation.description:
        described["description"] = operation.description
    if operation.query is not None:
        parameters.append({"in": "query", "schema": operation.query})
    if operation.versioned and operation.method != "get":
        parameters.append(
            {
                "name": "If-Match",
                "in": "header",
                "required": True,
                "description": 'The `ETag` of the version the edit was made against, such as `"7"`.',
                "schema": {"type": "string", "pattern": '^(W/)?"[0-9]{1,9}"$'},
            }
        )
    if parameters:
        described["parameters"] = parameters
    if operation.body is not None:
        described["requestBody"] = {"required": True, "content": {JSON: {"schema": operation.body}}}
    if operation.files:
        described["requestBody"] = _file_body(operation.files)
    described["responses"] = {
        str(status): _reply(reply.schema or {"type": "object"}, reply.description)
        for status, reply in operation.replies.items()
    } | _error_replies(operation, protected=protected)
    if protected:
        assert isinstance(access, frozenset)
        described["x-roles"] = sorted(access)
        described["x-api-client-roles"] = sorted(getattr(operation.view, CLIENT_ACCESS_ATTRIBUTE, ()))
    else:
        described["security"] = []
    return described


@functools.cache
def openapi_document() -> dict[str, Any]:
    """The document, built once per process: it depends on the code alone."""
    plugin = _Plugin(schema_name_resolver=_schema_name)
    spec = APISpec(
        title="cme-tracker API",
        version="1",
        openapi_version="3.1.0",
        plugins=[plugin],
        info={
            "description": "Attendance scans, live counts, credits and certificates of the International "
            'Medical Society of Japan. Errors are `{"error": code, "message": text, "details": ...}`.'
        },
        servers=[{"url": "/"}],
        security=[{"bearerToken": []}, {"session": [], "csrfToken": []}],
    )
    assert plugin.converter is not None
    # apispec leaves these two untyped
    plugin.converter.add_attribute_function(_text_limits)  # type: ignore[no-untyped-call]
    plugin.map_to_openapi_type(LocalTime, "string", "date-time")  # type: ignore[no-untyped-call]
    plugin.map_to_openapi_type(Amount, "string", None)  # type: ignore[no-untyped-call]
    spec.components.security_scheme(
        "bearerToken",
        {
            "type": "http",
            "scheme": "bearer",
            "description": "An API client's token: `cme-tracker tokens create NAME --role ROLE`.",
        },
    )
    spec.components.security_scheme("session", {"type": "apiKey", "in": "cookie", "name": "session"})
    spec.components.security_scheme(
        "csrfToken",
        {
            "type": "apiKey",
            "in": "header",
            "name": "X-CSRFToken",
            "description": "Required with a session cookie on POST requests.",
        },
    )
    spec.components.schema("Error", schema=ErrorSchema)
    paths: dict[str, dict[str, Any]] = {}
    for operation in OPERATIONS:
        paths.setdefault(_path(operation.path)[0], {})[operation.method] = _operation(operation)
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    document: dict[str, Any] = spec.to_dict()
    return document
