"""The JSON the API answers with, as marshmallow dump schemas over the services' plain values.

The services return frozen values and know nothing of JSON; each shape lives here once, for the API, the desk
page's scripts, the public verification page and ``credits show --json``, and the OpenAPI document
(api/openapi.py) is generated from these same schemas. Times are ISO 8601: instants in UTC, and local times
(``*_local``, a lecture's start and end) in the symposium's zone; labels are in the request's language. Both
reach a dump through :data:`CONTEXT`. No Flask here, so that the CLI may dump with these schemas too.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar, get_args
from zoneinfo import ZoneInfo

from marshmallow import Schema, fields, post_dump, validate
from marshmallow.experimental.context import Context

from cme_tracker.attendance.checkin.rules import Refusal, ScanMember, ScanResult, Status
from cme_tracker.attendance.counts import SymposiumCounts
from cme_tracker.credits.engine import FIELDS
from cme_tracker.credits.services import MemberCredits, format_amount
from cme_tracker.documents.models import CertificateStatus, RevocationCategory
from cme_tracker.vocabulary import CmeField, Profession, SymposiumStatus, YearBasis

if TYPE_CHECKING:
    from cme_tracker.attendance.models import Attendance
    from cme_tracker.documents.models import Certificate
    from cme_tracker.documents.verify import PublicRecord, Verification
    from cme_tracker.members.models import Member


@dataclass(frozen=True, slots=True)
class DumpContext:
    """What a dump needs beyond the values: the time zone :class:`LocalTime` fields show times in (the
    symposium's) and the language (``ja`` or ``en``) of labels (the request's)."""

    zone: ZoneInfo | None = None
    language: str | None = None


CONTEXT = Context[DumpContext]
"""Set around a dump; marshmallow keeps one context per dump, so it holds both."""

AMOUNT_PATTERN = r"^[0-9]+(\.[0-9]+)?$"
"""A credit amount as the JSON shows it: a decimal string, never a float or an exponent."""
_AMOUNT = {"pattern": AMOUNT_PATTERN, "examples": ["1.5"]}
_PROFESSIONS = validate.OneOf([profession.value for profession in Profession])
_FIELDS = validate.OneOf([field.value for field in CmeField])


class Answer(Schema):
    """A dump schema: every field is in every answer (its value maybe null), except those in ``optional``.

    The OpenAPI document marks the others required, so the suite's check of every answer notices a key gone
    missing; validators on a field only describe its values there (dumps never run them).
    """

    optional: ClassVar[frozenset[str]] = frozenset()


class LocalTime(fields.Field[datetime]):
    """An aware instant as ISO 8601 wall-clock time in the zone of :data:`CONTEXT` (None stays None). Dump
    only: it may show the same attribute as an instant field beside it."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(dump_only=True, **kwargs)

    def _serialize(self, value: datetime | None, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        if value is None:
            return None
        zone = CONTEXT.get().zone
        assert zone is not None, "a LocalTime needs CONTEXT(DumpContext(zone)) around the dump"
        return value.astimezone(zone).isoformat()


class Amount(fields.Field[Decimal]):
    """A credit amount computed now, as the decimal string of :data:`AMOUNT_PATTERN`."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(metadata=_AMOUNT, **kwargs)

    def _serialize(self, value: Decimal | None, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else format_amount(value)


def _frozen_amount() -> fields.String:
    """An amount frozen in a certificate's content, already a decimal string."""
    return fields.String(metadata=_AMOUNT)


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


AmountsByFieldSchema = Answer.from_dict(
    {field.value: Amount() for field in FIELDS}, name="AmountsByFieldSchema"
)
"""A policy's amounts in all five fields, in the order of :class:`~cme_tracker.vocabulary.CmeField`."""


class PolicyCreditsSchema(Answer):
    """Credits under one policy version: amounts as decimal strings, all five fields, codes if it has any."""

    optional = frozenset({"codes"})

    version = fields.String()
    total = Amount()
    by_field = fields.Nested(AmountsByFieldSchema)
    codes = fields.List(fields.String())

    @post_dump
    def _without_absent_codes(self, data: dict[str, Any], **_kwargs: Any) -> dict[str, Any]:
        """A policy that earns no scheme codes has no ``codes`` key (an empty list means none earned)."""
        if data["codes"] is None:
            del data["codes"]
        return data


class MemberCreditsSchema(Answer):
    """The shape of ``credits show --json`` and ``GET /api/v1/members/{member_no}/credits``."""

    member_no = fields.String()
    year = fields.Integer()
    year_basis = fields.Enum(YearBasis, by_value=True, attribute="basis")
    policies = fields.Dict(keys=fields.String(), values=fields.Nested(PolicyCreditsSchema))


class TotalSchema(Answer):
    """A policy's total as a certificate prints it."""

    label = fields.String()
    label_ja = fields.String(allow_none=True)
    version = fields.String()
    unit = fields.String()
    total = _frozen_amount()


class PublicRecordSchema(Answer):
    """What the verification shows of a certificate: exactly what the certificate shows, and its status."""

    serial = fields.String(metadata={"examples": ["A26-7K3M-Q9XP"]})
    kind = fields.String(validate=validate.OneOf(["attendance", "transcript"]))
    status = fields.String(validate=validate.OneOf([status.value for status in CertificateStatus]))
    holder_name = fields.String(
        allow_none=True, metadata={"description": "In kanji; null for a name in Latin letters only."}
    )
    holder_name_romaji = fields.String()
    symposium_code = fields.String(allow_none=True)
    symposium_title_ja = fields.String(allow_none=True)
    symposium_title_en = fields.String(allow_none=True)
    symposium_date = fields.String(allow_none=True, metadata={"format": "date"})
    issued_at = fields.String(metadata={"format": "date-time"})
    totals = fields.List(fields.Nested(TotalSchema))
    revoked_at = fields.String(allow_none=True, metadata={"format": "date"})
    revocation_category = fields.String(
        allow_none=True, validate=validate.OneOf([category.value for category in RevocationCategory])
    )
    replaced_by = fields.String(
        allow_none=True, metadata={"description": "The serial of the certificate replacing it."}
    )
    year = fields.Integer(allow_none=True)
    year_basis = fields.String(allow_none=True, validate=validate.OneOf([basis.value for basis in YearBasis]))


FrozenAmountsByFieldSchema = Answer.from_dict(
    {field.value: _frozen_amount() for field in FIELDS}, name="FrozenAmountsByFieldSchema"
)
"""The amounts per field frozen in a certificate's content."""


class PolicyTotalsSchema(Answer):
    """A certificate's credits under one policy, as frozen when it was issued."""

    code = fields.String()
    version = fields.String()
    label = fields.String()
    label_ja = fields.String()
    unit = fields.String()
    total = _frozen_amount()
    by_field = fields.Nested(FrozenAmountsByFieldSchema)
    codes = fields.List(fields.String(), allow_none=True)


class AwardSchema(Answer):
    amount = _frozen_amount()
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


class VerificationSchema(Answer):
    """``GET /verify/{serial}.json``: ``{"valid", "verdict", "problem", "message", "certificate"}``."""

    valid = fields.Boolean()
    verdict = fields.String(attribute="verdict.value")
    problem = fields.String(allow_none=True)
    message = fields.String()
    certificate = fields.Nested(PublicRecordSchema, attribute="record", allow_none=True)


# Schemas hold no state between dumps, and building one costs more than a dump.
_SCAN_MEMBER = ScanMemberSchema()
_SCAN_RESULT = ScanResultSchema()
_REFUSAL = RefusalSchema()
_VOIDED = VoidedAttendanceSchema()
_SYMPOSIUM_COUNTS = SymposiumCountsSchema()
_MEMBER_SEARCH = MemberSearchSchema()
_MEMBER_CREDITS = MemberCreditsSchema()
_CERTIFICATE = CertificateSchema()
_VERIFICATION = VerificationSchema()


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


def member_credits_json(credits: MemberCredits) -> dict[str, Any]:
    dumped: dict[str, Any] = _MEMBER_CREDITS.dump(credits)
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


def verification_json(verification: Verification) -> dict[str, Any]:
    dumped: dict[str, Any] = _VERIFICATION.dump(verification)
    return dumped
