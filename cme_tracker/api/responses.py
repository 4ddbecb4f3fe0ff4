"""The JSON the API answers with, as marshmallow dump schemas over the services' plain values.

The services return frozen values and know nothing of JSON; each shape lives here once, for the API and the
desk page's scripts (a member's credits are shaped in credits/schemas.py, a verification in
documents/schemas.py, both on the conventions of dumps.py), and the OpenAPI document (api/openapi.py) is
generated from these same schemas. No Flask here, so that the CLI may dump with these schemas too.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any, get_args
from zoneinfo import ZoneInfo

from marshmallow import fields, validate

from cme_tracker.attendance.checkin.rules import Refusal, ScanMember, ScanResult, Status
from cme_tracker.attendance.counts import SymposiumCounts
from cme_tracker.credits.engine import FIELDS
from cme_tracker.documents.schemas import PublicRecordSchema
from cme_tracker.dumps import CONTEXT, Answer, DumpContext, LocalTime, frozen_amount
from cme_tracker.vocabulary import CmeField, Profession, SymposiumStatus

if TYPE_CHECKING:
    from cme_tracker.attendance.models import Attendance
    from cme_tracker.documents.models import Certificate
    from cme_tracker.documents.verify import PublicRecord
    from cme_tracker.members.models import Member

_PROFESSIONS = validate.OneOf([profession.value for profession in Profession])
_FIELDS = validate.OneOf([field.value for field in CmeField])


def _profession_label(member: ScanMember | Member) -> str:
    profession = Profession(member.profession)
    return profession.label_ja if CONTEXT.get().language == "ja" else profession.label_en


def _profession_label_field() -> fields.Function:
    return fields.Function(
        _profession_label, metadata={"type": "string", "description": "In the request's language."}
    )


class ScanMemberSchema(Answer):
    """The member a scan names, as the desk shows them; also the answer to a walk-in registration."""

    member_no = fields.String()
    name = fields.String(metadata={"description": "In kanji (or Latin script), family name first."})
    name_romaji = fields.String()
    profession = fields.String(validate=_PROFESSIONS)
    needs_review = fields.Boolean(metadata={"description": "A walk-in an admin has not confirmed yet."})


class ScannedMemberSchema(ScanMemberSchema):
    """The member of a scan's answer: with their profession in the request's language."""

    profession_label = _profession_label_field()


class SpanSchema(Answer):
    """An attendance's presence interval."""

    id = fields.Integer()
    check_in_at = fields.DateTime()
    check_out_at = fields.DateTime(allow_none=True)
    check_in_local = LocalTime(attribute="check_in_at")
    check_out_local = LocalTime(attribute="check_out_at", allow_none=True)


class ScanResultSchema(Answer):
    """The answer of ``POST /api/v1/checkins`` (and the details of its 409 for a pending ``out``)."""

    status = fields.String(validate=validate.OneOf(get_args(Status)))
    created = fields.Boolean()
    member = fields.Nested(ScannedMemberSchema)
    symposium_code = fields.String(attribute="target.symposium_code")
    lecture_code = fields.String(attribute="target.lecture_code", allow_none=True)
    timezone = fields.String(attribute="target.timezone", metadata={"examples": ["Asia/Tokyo"]})
    scanned_at = fields.DateTime()
    scanned_at_local = LocalTime(attribute="scanned_at")
    attendance = fields.Nested(SpanSchema, allow_none=True)


class RefusalSchema(Answer):
    """The details of a scan refused for its time."""

    member = fields.Nested(ScanMemberSchema)
    target = fields.String()


class VoidedAttendanceSchema(Answer):
    """``POST /api/v1/attendances/{id}/void``: the attendance as it is now, kept and marked void."""

    id = fields.Integer()
    member_no = fields.String(attribute="member.member_no")
    check_in_at = fields.DateTime()
    check_out_at = fields.DateTime(allow_none=True)
    voided_at = fields.DateTime(allow_none=True)
    voided_by = fields.String(allow_none=True)
    void_reason = fields.String(allow_none=True)


class CountsSchema(Answer):
    checked_in = fields.Integer()
    inside_now = fields.Integer()


class LectureCountsSchema(Answer):
    lecture_code = fields.String(attribute="code")
    title_ja = fields.String()
    title_en = fields.String(allow_none=True)
    starts_at = LocalTime()
    ends_at = LocalTime()
    checked_in = fields.Integer(attribute="counts.checked_in")
    inside_now = fields.Integer(attribute="counts.inside_now")


class SymposiumCountsSchema(Answer):
    """``GET /api/v1/symposia/{code}/attendance``: the live counts a desk polls."""

    symposium_code = fields.String(attribute="code")
    held_on = fields.Date(data_key="date")
    timezone = fields.String()
    status = fields.String(validate=validate.OneOf([status.value for status in SymposiumStatus]))
    now = fields.DateTime()
    day = fields.Nested(CountsSchema)
    lectures = fields.List(fields.Nested(LectureCountsSchema))


class FoundMemberSchema(Answer):
    """A member found by ``GET /api/v1/members/search``, with every name the desk may show."""

    member_no = fields.String()
    name = fields.String()
    name_romaji = fields.String()
    family_name = fields.String()
    given_name = fields.String()
    family_name_kana = fields.String(allow_none=True)
    given_name_kana = fields.String(allow_none=True)
    family_name_romaji = fields.String()
    given_name_romaji = fields.String()
    profession = fields.String(validate=_PROFESSIONS)
    profession_label = _profession_label_field()
    needs_review = fields.Boolean()


class MemberSearchSchema(Answer):
    """The matching active members, the one with exactly that number first."""

    members = fields.List(fields.Nested(FoundMemberSchema))


FrozenAmountsByFieldSchema = Answer.from_dict(
    {field.value: frozen_amount() for field in FIELDS}, name="FrozenAmountsByFieldSchema"
)
"""The amounts per field frozen in a certificate's content."""


class PolicyTotalsSchema(Answer):
    """A certificate's credits under one policy, as frozen when it was issued."""

    code = fields.String()
    version = fields.String()
    label = fields.String()
    label_ja = fields.String()
    unit = fields.String()
    total = frozen_amount()
    by_field = fields.Nested(FrozenAmountsByFieldSchema)
    codes = fields.List(fields.String(), allow_none=True)


class AwardSchema(Answer):
    amount = frozen_amount()
    code = fields.String(allow_none=True)


class LectureContentSchema(Answer):
    """A lecture a certificate lists, with the credits it earned under each policy."""

    code = fields.String()
    starts_at = fields.String(metadata={"description": "HH:MM in the symposium's time zone."})
    ends_at = fields.String()
    title_ja = fields.String()
    title_en = fields.String(allow_none=True)
    speaker = fields.String()
    field = fields.String(validate=_FIELDS)
    minutes = fields.Integer()
    credits = fields.Dict(keys=fields.String(), values=fields.Nested(AwardSchema))


class CertificateSchema(PublicRecordSchema):
    """``GET /api/v1/certificates/{serial}``: the public record, the holder's number, lectures, policies."""

    member_no = fields.String()
    policy_versions = fields.List(fields.String())
    policies = fields.List(fields.Nested(PolicyTotalsSchema))
    lectures = fields.List(fields.Nested(LectureContentSchema))


# Schemas hold no state between dumps, and building one costs more than a dump.
_SCAN_MEMBER = ScanMemberSchema()
_SCAN_RESULT = ScanResultSchema()
_REFUSAL = RefusalSchema()
_VOIDED = VoidedAttendanceSchema()
_SYMPOSIUM_COUNTS = SymposiumCountsSchema()
_MEMBER_SEARCH = MemberSearchSchema()
_CERTIFICATE = CertificateSchema()


def scan_member_json(member: ScanMember) -> dict[str, Any]:
    dumped: dict[str, Any] = _SCAN_MEMBER.dump(member)
    return dumped


def scan_result_json(result: ScanResult, language: str) -> dict[str, Any]:
    with CONTEXT(DumpContext(result.target.zone, language)):
        dumped: dict[str, Any] = _SCAN_RESULT.dump(result)
    return dumped


def refusal_json(refusal: Refusal) -> dict[str, Any]:
    dumped: dict[str, Any] = _REFUSAL.dump(refusal)
    return dumped


def voided_attendance_json(attendance: Attendance) -> dict[str, Any]:
    dumped: dict[str, Any] = _VOIDED.dump(attendance)
    return dumped


def symposium_counts_json(counts: SymposiumCounts) -> dict[str, Any]:
    with CONTEXT(DumpContext(ZoneInfo(counts.timezone))):
        dumped: dict[str, Any] = _SYMPOSIUM_COUNTS.dump(counts)
    return dumped


def member_search_json(members: list[Member], language: str) -> dict[str, Any]:
    with CONTEXT(DumpContext(language=language)):
        dumped: dict[str, Any] = _MEMBER_SEARCH.dump({"members": members})
    return dumped


def certificate_json(record: PublicRecord, certificate: Certificate) -> dict[str, Any]:
    """The public record of ``certificate`` and what only the API shows: a transcript lists no lectures of
    its own (they are under its symposia), so ``lectures`` is empty for one."""
    content: dict[str, Any] = certificate.content
    dumped: dict[str, Any] = _CERTIFICATE.dump(
        {
            **asdict(record),
            "member_no": certificate.member.member_no,
            "policy_versions": certificate.policy_versions,
            "policies": content.get("policies", []),
            "lectures": content.get("lectures", []),
        }
    )
    return dumped
