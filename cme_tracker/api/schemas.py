"""Validation of what API clients send: bodies and query strings, with every problem named by field."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marshmallow import Schema, ValidationError, fields, pre_load, validate, validates_schema

from cme_tracker.attendance.schemas import Instant
from cme_tracker.members.schemas import member_number_field
from cme_tracker.program.schemas import lecture_code_field, symposium_code_field
from cme_tracker.society import FIRST_REPORT_YEAR, LAST_REPORT_YEAR
from cme_tracker.tabular.cells import Choice, Text
from cme_tracker.vocabulary import YearBasis

SCAN_METHODS = ("qr", "search", "manual", "offline")
"""How a desk took a scan: QR card (camera or USB scanner), name search, typed number, offline queue."""
SEARCH_LIMIT = 50
_REQUIRED: dict[str, Any] = {"required": "required", "null": "required"}


class ApiSchema(Schema):
    """JSON from programs: a null or blank value means the field was left out; unknown fields are refused."""

    @pre_load
    def drop_empty_values(self, data: Any, **_kwargs: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        return {
            key: value
            for key, value in data.items()
            if value is not None and not (isinstance(value, str) and not value.strip())
        }


class CheckinSchema(ApiSchema):
    """``POST /api/v1/checkins``: a member (signed card or number), a target, a direction."""

    card = Text(max_length=300, metadata={"description": "The QR payload of a member card."})
    member_no = member_number_field()
    lecture_code = lecture_code_field(metadata={"examples": ["2026-11-L3"]})
    symposium_code = symposium_code_field(
        metadata={
            "examples": ["2026-11"],
            "description": "Alone: the whole day. With lecture_code: must be the lecture's symposium.",
        }
    )
    direction = Choice(("in", "out"), required=True, error_messages=_REQUIRED)
    scanned_at = Instant(
        metadata={
            "description": "ISO 8601; without an offset, wall-clock time in the symposium's time zone. "
            "Default: when the server receives the scan.",
            "examples": ["2026-11-21T09:42:00+09:00"],
        }
    )
    nonce = Text(
        max_length=100,
        metadata={"description": "Unique per scan; a retry with the same nonce returns the first answer."},
    )
    desk = Text(max_length=64)
    method = Choice(SCAN_METHODS)

    @validates_schema(skip_on_field_errors=False)
    def one_member_and_a_target(self, data: dict[str, Any], **_kwargs: Any) -> None:
        """The member by ``card`` or by ``member_no``, not both; a lecture, the whole day, or both."""
        errors: dict[str, list[str]] = {}
        if "card" in data and "member_no" in data:
            errors["member_no"] = ["give card or member_no, not both"]
        elif "card" not in data and "member_no" not in data:
            errors["card"] = ["required: card (the QR payload) or member_no"]
        if "lecture_code" not in data and "symposium_code" not in data:
            errors["lecture_code"] = [
                "required: lecture_code (one lecture) or symposium_code (the whole day)"
            ]
        if errors:
            raise ValidationError(errors)


class VoidSchema(ApiSchema):
    """``POST /api/v1/attendances/{id}/void``: why the attendance is voided."""

    reason = Text(max_length=500, multiline=True, required=True, error_messages=_REQUIRED)


class CreditsQuerySchema(ApiSchema):
    """``GET /api/v1/members/{member_no}/credits?year=YYYY&basis=calendar|fiscal``."""

    year = fields.Integer(
        required=True,
        strict=False,
        validate=validate.Range(FIRST_REPORT_YEAR, LAST_REPORT_YEAR),
        error_messages=_REQUIRED,
    )
    basis = Choice([basis.value for basis in YearBasis], load_default=YearBasis.CALENDAR.value)


class SearchQuerySchema(ApiSchema):
    """``GET /api/v1/members/search?q=...&limit=N``."""

    q = Text(max_length=100, load_default="")
    limit = fields.Integer(validate=validate.Range(1, SEARCH_LIMIT), load_default=20)
