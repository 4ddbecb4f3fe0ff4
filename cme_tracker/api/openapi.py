"""The OpenAPI 3.1 document of /api/v1, written by hand beside the views it describes.

The roles of each operation are read from the views' own declarations (``x-roles``, ``x-api-client-roles``),
so the document cannot drift from what the access check enforces; a test checks that every route is in it.
"""

from __future__ import annotations

from typing import Any

from flask import Flask

from cme_tracker.api.schemas import FIRST_YEAR, LAST_YEAR, SCAN_METHODS, SEARCH_LIMIT
from cme_tracker.vocabulary import CmeField, Profession, YearBasis
from cme_tracker.web.security import CLIENT_ACCESS_ATTRIBUTE, PUBLIC, declared_access

JSON = "application/json"
_NULLABLE_STRING = {"type": ["string", "null"]}
_NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}
_TIME = {"type": "string", "format": "date-time"}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": schema}}}


def _errors(*statuses: int) -> dict[str, Any]:
    reasons = {
        401: "No bearer token or session, or an unknown or revoked token (`unauthorized`).",
        403: "The role may not use this operation (`forbidden`).",
        404: "Not found: `unknown_member`, `unknown_card`, `card_replaced`, `unknown_lecture`, "
        "`unknown_symposium`, `unknown_attendance`, `unknown_certificate`.",
        409: "Conflict with the state of the records.",
        422: "Invalid body or query (`invalid`, with the problem of each field in `details`).",
    }
    return {str(status): _json(_ref("Error"), reasons[status]) for status in statuses}


_CHECKIN_REQUEST = {
    "type": "object",
    "additionalProperties": False,
    "required": ["direction"],
    "description": "A member (`card` or `member_no`), a target (`lecture_code`, `symposium_code` or both).",
    "properties": {
        "card": {"type": "string", "maxLength": 300, "description": "The QR payload of a member card."},
        "member_no": {"type": "string", "maxLength": 32},
        "lecture_code": {"type": "string", "maxLength": 40, "examples": ["2026-11-L3"]},
        "symposium_code": {
            "type": "string",
            "maxLength": 32,
            "examples": ["2026-11"],
            "description": "Alone: the whole day. With lecture_code: must be the lecture's symposium.",
        },
        "direction": {"enum": ["in", "out"]},
        "scanned_at": {
            "type": "string",
            "description": "ISO 8601; without an offset, wall-clock time in the symposium's time zone. "
            "Default: when the server receives the scan.",
            "examples": ["2026-11-21T09:42:00+09:00"],
        },
        "nonce": {
            "type": "string",
            "maxLength": 100,
            "description": "Unique per scan; a retry with the same nonce returns the first answer.",
        },
        "desk": {"type": "string", "maxLength": 64},
        "method": {"enum": list(SCAN_METHODS)},
    },
}

_SCAN_MEMBER = {
    "type": "object",
    "properties": {
        "member_no": {"type": "string"},
        "name": {"type": "string", "description": "In kanji (or Latin script), family name first."},
        "name_romaji": {"type": "string"},
        "profession": {"enum": [profession.value for profession in Profession]},
        "profession_label": {"type": "string", "description": "In the request's language."},
        "needs_review": {"type": "boolean", "description": "A walk-in an admin has not confirmed yet."},
    },
}

_SCAN_RESULT = {
    "type": "object",
    "required": ["status", "created", "member", "symposium_code", "scanned_at", "attendance"],
    "properties": {
        "status": {
            "enum": [
                "checked_in",
                "checked_out",
                "already_checked_in",
                "already_checked_out",
                "not_checked_in",
            ]
        },
        "created": {"type": "boolean"},
        "member": _ref("ScanMember"),
        "symposium_code": {"type": "string"},
        "lecture_code": _NULLABLE_STRING,
        "timezone": {"type": "string", "examples": ["Asia/Tokyo"]},
        "scanned_at": _TIME,
        "scanned_at_local": _TIME,
        "attendance": {
            "oneOf": [
                {"type": "null"},
                {
                    "type": "object",
                    "properties": {
                        "id": {"type": "integer"},
                        "check_in_at": _TIME,
                        "check_out_at": _NULLABLE_TIME,
                        "check_in_local": _TIME,
                        "check_out_local": _NULLABLE_TIME,
                    },
                },
            ]
        },
    },
}

_ERROR = {
    "type": "object",
    "required": ["error", "message", "details"],
    "properties": {
        "error": {"type": "string", "description": "A machine-readable code."},
        "message": {"type": "string"},
        "details": {"description": "Field problems, or the scan result of a pending `out`."},
    },
}

_COUNTS = {
    "type": "object",
    "properties": {"checked_in": {"type": "integer"}, "inside_now": {"type": "integer"}},
}

_SYMPOSIUM_COUNTS = {
    "type": "object",
    "properties": {
        "symposium_code": {"type": "string"},
        "date": {"type": "string", "format": "date"},
        "timezone": {"type": "string"},
        "status": {"enum": ["scheduled", "closed"]},
        "now": _TIME,
        "day": _ref("Counts"),
        "lectures": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "lecture_code": {"type": "string"},
                    "title_ja": {"type": "string"},
                    "title_en": _NULLABLE_STRING,
                    "starts_at": _TIME,
                    "ends_at": _TIME,
                    "checked_in": {"type": "integer"},
                    "inside_now": {"type": "integer"},
                },
            },
        },
    },
}

_FOUND_MEMBER = {
    "type": "object",
    "properties": {
        "member_no": {"type": "string"},
        "name": {"type": "string"},
        "name_romaji": {"type": "string"},
        "family_name": {"type": "string"},
        "given_name": {"type": "string"},
        "family_name_kana": _NULLABLE_STRING,
        "given_name_kana": _NULLABLE_STRING,
        "family_name_romaji": {"type": "string"},
        "given_name_romaji": {"type": "string"},
        "profession": {"enum": [profession.value for profession in Profession]},
        "profession_label": {"type": "string"},
        "needs_review": {"type": "boolean"},
    },
}

_AMOUNT = {"type": "string", "pattern": r"^[0-9]+(\.[0-9]+)?$", "examples": ["1.5"]}

_CREDITS = {
    "type": "object",
    "description": "The same shape as `cme-tracker credits show --json`.",
    "properties": {
        "member_no": {"type": "string"},
        "year": {"type": "integer"},
        "year_basis": {"enum": [basis.value for basis in YearBasis]},
        "policies": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "properties": {
                    "version": {"type": "string"},
                    "total": _AMOUNT,
                    "by_field": {
                        "type": "object",
                        "properties": {field.value: _AMOUNT for field in CmeField},
                    },
                    "codes": {"type": "array", "items": {"type": "string"}},
                },
            },
        },
    },
}

_VOIDED = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "member_no": {"type": "string"},
        "check_in_at": _TIME,
        "check_out_at": _NULLABLE_TIME,
        "voided_at": _TIME,
        "voided_by": {"type": "string"},
        "void_reason": {"type": "string"},
    },
}

_AWARD = {
    "type": "object",
    "properties": {"amount": _AMOUNT, "code": _NULLABLE_STRING},
}

_CERTIFICATE = {
    "type": "object",
    "description": "The certificate's status and what it certifies, as frozen when it was issued.",
    "required": ["serial", "kind", "status", "holder_name_romaji", "issued_at", "totals", "lectures"],
    "properties": {
        "serial": {"type": "string", "examples": ["A26-7K3M-Q9XP"]},
        "kind": {"enum": ["attendance", "transcript"]},
        "status": {"enum": ["valid", "revoked", "superseded"]},
        "member_no": {"type": "string"},
        "holder_name": {
            **_NULLABLE_STRING,
            "description": "In kanji; null for a name in Latin letters only.",
        },
        "holder_name_romaji": {"type": "string"},
        "symposium_code": _NULLABLE_STRING,
        "symposium_title_ja": _NULLABLE_STRING,
        "symposium_title_en": _NULLABLE_STRING,
        "symposium_date": {"type": ["string", "null"], "format": "date"},
        "issued_at": _TIME,
        "revoked_at": {"type": ["string", "null"], "format": "date"},
        "revocation_category": {
            "enum": [None, "issued_in_error", "attendance_corrected", "misconduct", "other"]
        },
        "replaced_by": {**_NULLABLE_STRING, "description": "The serial of the certificate replacing it."},
        "policy_versions": {"type": "array", "items": {"type": "string"}},
        "totals": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "label": {"type": "string"},
                    "label_ja": _NULLABLE_STRING,
                    "version": {"type": "string"},
                    "unit": {"type": "string"},
                    "total": _AMOUNT,
                },
            },
        },
        "policies": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "code": {"type": "string"},
                    "version": {"type": "string"},
                    "label": {"type": "string"},
                    "label_ja": {"type": "string"},
                    "unit": {"type": "string"},
                    "total": _AMOUNT,
                    "by_field": {
                        "type": "object",
                        "properties": {field.value: _AMOUNT for field in CmeField},
                    },
                    "codes": {"type": ["array", "null"], "items": {"type": "string"}},
                },
            },
        },
        "lectures": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "code": {"type": "string"},
                    "starts_at": {"type": "string", "description": "HH:MM in the symposium's time zone."},
                    "ends_at": {"type": "string"},
                    "title_ja": {"type": "string"},
                    "title_en": _NULLABLE_STRING,
                    "speaker": {"type": "string"},
                    "field": {"enum": [field.value for field in CmeField]},
                    "minutes": {"type": "integer"},
                    "credits": {"type": "object", "additionalProperties": _ref("Award")},
                },
            },
        },
    },
}

_PATHS: dict[str, dict[str, Any]] = {
    "/api/v1/checkins": {
        "post": {
            "operationId": "api.checkins",
            "summary": "Record a check-in or check-out scan",
            "description": "Scans apply in scan-time order, never twice. A refused scan writes nothing, "
            "except an `out` with nothing open, which is kept (409 `not_checked_in`) so that an offline `in` "
            "synced later is closed by it.",
            "requestBody": {"required": True, "content": {JSON: {"schema": _ref("CheckinRequest")}}},
            "responses": {
                "201": _json(_ref("ScanResult"), "An attendance was opened or closed."),
                "200": _json(
                    _ref("ScanResult"), "`already_checked_in` or `already_checked_out`: a repeat or a retry."
                ),
                **_errors(401, 403, 404),
                "409": _json(
                    _ref("Error"),
                    "`symposium_closed`, `not_open` (not the symposium's date), `lecture_over`, "
                    "`not_checked_in` (details: the scan result; the scan is kept), `busy` (scan again).",
                ),
                "422": _json(_ref("Error"), "`invalid` body, or `lecture_not_in_symposium`."),
            },
        }
    },
    "/api/v1/attendances/{attendance_id}/void": {
        "post": {
            "operationId": "api.void",
            "summary": "Undo a scan: void its attendance",
            "description": "The row is kept, marked void with the reason, and audited. Desks may void within "
            "10 minutes of recording, admins at any time.",
            "parameters": [
                {"name": "attendance_id", "in": "path", "required": True, "schema": {"type": "integer"}}
            ],
            "requestBody": {"required": True, "content": {JSON: {"schema": _ref("VoidRequest")}}},
            "responses": {
                "200": _json(_ref("VoidedAttendance"), "Voided."),
                **_errors(401, 403, 404),
                "409": _json(_ref("Error"), "`already_voided` or `too_late_to_undo`."),
                "422": _json(_ref("Error"), "`invalid`: no reason given."),
            },
        }
    },
    "/api/v1/symposia/{code}/attendance": {
        "get": {
            "operationId": "api.attendance_counts",
            "summary": "Live counts of a symposium",
            "parameters": [{"name": "code", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {
                "200": _json(_ref("SymposiumCounts"), "Per lecture and for the whole day."),
                **_errors(401, 403, 404),
            },
        }
    },
    "/api/v1/members/search": {
        "get": {
            "operationId": "api.member_search",
            "summary": "Find members by name (kanji, kana, romaji) or number",
            "parameters": [
                {"name": "q", "in": "query", "schema": {"type": "string", "maxLength": 100}},
                {
                    "name": "limit",
                    "in": "query",
                    "schema": {"type": "integer", "minimum": 1, "maximum": SEARCH_LIMIT, "default": 20},
                },
            ],
            "responses": {
                "200": _json(
                    {
                        "type": "object",
                        "properties": {"members": {"type": "array", "items": _ref("FoundMember")}},
                    },
                    "The matching active members, the one with exactly that number first.",
                ),
                **_errors(401, 403, 422),
            },
        }
    },
    "/api/v1/members/{member_no}/credits": {
        "get": {
            "operationId": "api.credits",
            "summary": "A member's credits for a calendar or fiscal year",
            "description": "A member's own session may read only their own number.",
            "parameters": [
                {"name": "member_no", "in": "path", "required": True, "schema": {"type": "string"}},
                {
                    "name": "year",
                    "in": "query",
                    "required": True,
                    "schema": {"type": "integer", "minimum": FIRST_YEAR, "maximum": LAST_YEAR},
                },
                {
                    "name": "basis",
                    "in": "query",
                    "schema": {"enum": [basis.value for basis in YearBasis], "default": "calendar"},
                },
            ],
            "responses": {
                "200": _json(_ref("Credits"), "Every enabled policy that applies."),
                **_errors(401, 403, 404, 422),
            },
        }
    },
    "/api/v1/certificates/{serial}": {
        "get": {
            "operationId": "api.certificate",
            "summary": "A certificate's status and what it certifies",
            "description": "Admins and auditors may read any certificate; a member's own session only their "
            "own, and another's answers 404 like an unknown serial. Anyone holding the verification code may "
            "also use the public `GET /verify/{serial}.json?c=CODE`, which shows less.",
            "parameters": [{"name": "serial", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {
                "200": _json(_ref("Certificate"), "Valid, revoked or superseded."),
                **_errors(401, 403, 404),
            },
        }
    },
    "/api/v1/openapi.json": {
        "get": {
            "operationId": "api.openapi",
            "summary": "This document",
            "security": [],
            "responses": {"200": {"description": "OpenAPI 3.1", "content": {JSON: {}}}},
        }
    },
}


def openapi_document(app: Flask) -> dict[str, Any]:
    """The document, each operation marked with the roles its view admits (users and API clients)."""
    paths: dict[str, dict[str, Any]] = {}
    for path, operations in _PATHS.items():
        paths[path] = {}
        for method, operation in operations.items():
            view = app.view_functions.get(operation["operationId"])
            access = declared_access(view)
            described = dict(operation)
            if access is not None and access != PUBLIC:
                described["x-roles"] = sorted(access)
                described["x-api-client-roles"] = sorted(getattr(view, CLIENT_ACCESS_ATTRIBUTE, ()))
            paths[path][method] = described
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "cme-tracker API",
            "version": "1",
            "description": "Attendance scans, live counts, credits and certificates of the International "
            "Medical Society "
            'of Japan. Errors are `{"error": code, "message": text, "details": ...}`.',
        },
        "servers": [{"url": "/"}],
        "security": [{"bearerToken": []}, {"session": [], "csrfToken": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearerToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An API client's token: `cme-tracker tokens create NAME --role ROLE`.",
                },
                "session": {"type": "apiKey", "in": "cookie", "name": "session"},
                "csrfToken": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "X-CSRFToken",
                    "description": "Required with a session cookie on POST requests.",
                },
            },
            "schemas": {
                "CheckinRequest": _CHECKIN_REQUEST,
                "ScanMember": _SCAN_MEMBER,
                "ScanResult": _SCAN_RESULT,
                "VoidRequest": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["reason"],
                    "properties": {"reason": {"type": "string", "minLength": 1, "maxLength": 500}},
                },
                "VoidedAttendance": _VOIDED,
                "Counts": _COUNTS,
                "SymposiumCounts": _SYMPOSIUM_COUNTS,
                "FoundMember": _FOUND_MEMBER,
                "Credits": _CREDITS,
                "Award": _AWARD,
                "Certificate": _CERTIFICATE,
                "Error": _ERROR,
            },
        },
    }
