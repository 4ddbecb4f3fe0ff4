"""The JSON the API answers with, as marshmallow dump schemas over the services' plain values.

The services return frozen values and know nothing of JSON; each shape lives here once, for the API and the
desk page's scripts (a member's credits are shaped in credits/schemas.py, a verification in
documents/schemas.py). Times are ISO 8601: instants in
UTC, and local times (``*_local``, a lecture's start and end) in the symposium's zone, which the dump is given
through :data:`ZONE`. No Flask here, so that the CLI may dump with these schemas too.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from marshmallow import Schema, fields
from marshmallow.experimental.context import Context

from cme_tracker.attendance.checkin.rules import Refusal, ScanMember, ScanResult
from cme_tracker.attendance.counts import SymposiumCounts

ZONE = Context[ZoneInfo]
"""The time zone :class:`LocalTime` fields show times in: the symposium's, set around a dump."""


class LocalTime(fields.Field[datetime]):
    """An aware instant as ISO 8601 wall-clock time in :data:`ZONE` (None stays None). Dump only: it may
    show the same attribute as an instant field beside it."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(dump_only=True, **kwargs)

    def _serialize(self, value: datetime | None, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else value.astimezone(ZONE.get()).isoformat()


class ScanMemberSchema(Schema):
    """The member a scan names, as the desk shows them; also the answer to a walk-in registration."""

    member_no = fields.String()
    name = fields.String()
    name_romaji = fields.String()
    profession = fields.String()
    needs_review = fields.Boolean()


class SpanSchema(Schema):
    """An attendance's presence interval."""

    id = fields.Integer()
    check_in_at = fields.DateTime()
    check_out_at = fields.DateTime()
    check_in_local = LocalTime(attribute="check_in_at")
    check_out_local = LocalTime(attribute="check_out_at")


class ScanResultSchema(Schema):
    """The answer of ``POST /api/v1/checkins`` (and the details of its 409 for a pending ``out``)."""

    status = fields.String()
    created = fields.Boolean()
    member = fields.Nested(ScanMemberSchema)
    symposium_code = fields.String(attribute="target.symposium_code")
    lecture_code = fields.String(attribute="target.lecture_code")
    timezone = fields.String(attribute="target.timezone")
    scanned_at = fields.DateTime()
    scanned_at_local = LocalTime(attribute="scanned_at")
    attendance = fields.Nested(SpanSchema, allow_none=True)


class RefusalSchema(Schema):
    """The details of a scan refused for its time."""

    member = fields.Nested(ScanMemberSchema)
    target = fields.String()


class CountsSchema(Schema):
    checked_in = fields.Integer()
    inside_now = fields.Integer()


class LectureCountsSchema(Schema):
    lecture_code = fields.String(attribute="code")
    title_ja = fields.String()
    title_en = fields.String()
    starts_at = LocalTime()
    ends_at = LocalTime()
    checked_in = fields.Integer(attribute="counts.checked_in")
    inside_now = fields.Integer(attribute="counts.inside_now")


class SymposiumCountsSchema(Schema):
    """``GET /api/v1/symposia/{code}/attendance``: the live counts a desk polls."""

    symposium_code = fields.String(attribute="code")
    held_on = fields.Date(data_key="date")
    timezone = fields.String()
    status = fields.String()
    now = fields.DateTime()
    day = fields.Nested(CountsSchema)
    lectures = fields.List(fields.Nested(LectureCountsSchema))


# Schemas hold no state between dumps, and building one costs more than a dump.
_SCAN_MEMBER = ScanMemberSchema()
_SCAN_RESULT = ScanResultSchema()
_REFUSAL = RefusalSchema()
_SYMPOSIUM_COUNTS = SymposiumCountsSchema()


def scan_member_json(member: ScanMember) -> dict[str, Any]:
    dumped: dict[str, Any] = _SCAN_MEMBER.dump(member)
    return dumped


def scan_result_json(result: ScanResult) -> dict[str, Any]:
    with ZONE(result.target.zone):
        dumped: dict[str, Any] = _SCAN_RESULT.dump(result)
    return dumped


def refusal_json(refusal: Refusal) -> dict[str, Any]:
    dumped: dict[str, Any] = _REFUSAL.dump(refusal)
    return dumped


def symposium_counts_json(counts: SymposiumCounts) -> dict[str, Any]:
    with ZONE(ZoneInfo(counts.timezone)):
        dumped: dict[str, Any] = _SYMPOSIUM_COUNTS.dump(counts)
    return dumped
