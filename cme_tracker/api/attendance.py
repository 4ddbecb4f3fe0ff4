"""The API of attendance records for the office: a symposium's attendances a page at a time, and an admin's
correction (a member present at a lecture or the whole day between two times).

A correction is recorded as an admin's scans through the check-in service (``privileged``: any date, a
closed symposium too), so it follows the rules every scan follows: scans combine in scan-time order, a member
has at most one open attendance per lecture and per whole day, and each change is audited with who made it.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, jsonify, request
from flask.typing import ResponseReturnValue
from marshmallow import ValidationError, fields, validates_schema
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from cme_tracker.accounts.authentication import current_actor
from cme_tracker.api.blueprint import blueprint, json_body, load
from cme_tracker.api.operations import Operation, Reply
from cme_tracker.api.pages import PageQuerySchema, keyset_page
from cme_tracker.api.responses import refusal_json
from cme_tracker.api.schemas import ApiSchema
from cme_tracker.attendance.checkin.rules import Refusal, ScanRequest, ScanResult
from cme_tracker.attendance.checkin.service import record_scan
from cme_tracker.attendance.models import Attendance
from cme_tracker.attendance.schemas import Instant
from cme_tracker.db import begin_write
from cme_tracker.dumps import CONTEXT, Answer, DumpContext, LocalTime
from cme_tracker.errors import DomainError, NotFound
from cme_tracker.members.models import Member
from cme_tracker.members.schemas import member_number_field
from cme_tracker.program.models import Lecture, Symposium
from cme_tracker.program.schemas import lecture_code_field, symposium_code_field
from cme_tracker.tabular.cells import Text
from cme_tracker.vocabulary import Role
from cme_tracker.web import clock
from cme_tracker.web.security import roles_required
from cme_tracker.web.session import db_session

_REQUIRED: dict[str, Any] = {"required": "required", "null": "required"}
CORRECTION_METHOD = "manual"


class AttendanceSchema(Answer):
    """One attendance as recorded: at a lecture, or at the whole day (``lecture_code`` null)."""

    id = fields.Integer()
    member_no = fields.String(attribute="member.member_no")
    member_name = fields.String(attribute="member.name")
    symposium_code = fields.String(attribute="symposium.code")
    lecture_code = fields.Function(
        lambda attendance: attendance.lecture.code if attendance.lecture is not None else None,
        allow_none=True,
        metadata={"type": "string", "description": "null: the whole day."},
    )
    check_in_at = fields.DateTime()
    check_out_at = fields.DateTime(allow_none=True)
    check_in_local = LocalTime(attribute="check_in_at")
    check_out_local = LocalTime(attribute="check_out_at", allow_none=True)
    method = fields.String()
    desk = fields.String(allow_none=True)
    recorded_by = fields.String(allow_none=True)
    voided_at = fields.DateTime(allow_none=True)
    voided_by = fields.String(allow_none=True)
    void_reason = fields.String(allow_none=True)


class AttendancePageSchema(Answer):
    items = fields.List(fields.Nested(AttendanceSchema), metadata={"description": "By id."})
    next_cursor = fields.String(allow_none=True)


class AttendanceQuerySchema(PageQuerySchema):
    """Filters of a symposium's attendances."""

    lecture_code = lecture_code_field(metadata={"description": "Only this lecture's."})
    member_no = member_number_field(metadata={"description": "Only this member's."})
    voided = fields.Boolean(metadata={"description": "true: only voided ones; false: only those that count."})
    whole_day = fields.Boolean(metadata={"description": "true: only whole-day attendances."})


class CorrectionSchema(ApiSchema):
    """``POST /api/v1/attendances``: a member present at a lecture (or the whole day) between two times."""

    member_no = member_number_field(required=True, error_messages=_REQUIRED)
    lecture_code = lecture_code_field()
    symposium_code = symposium_code_field(metadata={"description": "Alone: the whole day."})
    check_in_at = Instant(
        required=True,
        error_messages=_REQUIRED,
        metadata={"description": "ISO 8601; without an offset, wall-clock time in the symposium's zone."},
    )
    check_out_at = Instant(metadata={"description": "Empty: the member stays checked in."})
    nonce = Text(
        max_length=90,
        metadata={"description": "Unique per correction: a retry with the same nonce records nothing twice."},
    )

    @validates_schema(skip_on_field_errors=True)
    def a_target_and_times_in_order(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if "lecture_code" not in data and "symposium_code" not in data:
            raise ValidationError(
                "required: lecture_code (one lecture) or symposium_code (the whole day)", "lecture_code"
            )
        check_out = data.get("check_out_at")
        check_in = data["check_in_at"]
        comparable = check_out is not None and (check_in.tzinfo is None) == (check_out.tzinfo is None)
        if comparable and check_out < check_in:
            raise ValidationError("before check_in_at", "check_out_at")


class CorrectionResultSchema(Answer):
    created = fields.Boolean(metadata={"description": "true: an attendance was opened or closed."})
    attendance = fields.Nested(AttendanceSchema)


_ATTENDANCE_PAGE = AttendancePageSchema()
_QUERY = AttendanceQuerySchema()
_CORRECTION = CorrectionSchema()
_CORRECTION_RESULT = CorrectionResultSchema()


@blueprint.get("/symposia/<code>/attendances")
@roles_required(Role.ADMIN, api_clients=True)
def attendances(code: str) -> ResponseReturnValue:
    """A symposium's attendances (voided ones too, unless filtered), by id, a page at a time."""
    query = load(_QUERY, request.args.to_dict())
    session = db_session()
    symposium = session.scalar(select(Symposium).where(Symposium.code == code))
    if symposium is None:
        raise NotFound(f"no symposium {code}", code="unknown_symposium")
    statement = (
        select(Attendance)
        .where(Attendance.symposium_id == symposium.id)
        .options(
            joinedload(Attendance.member), joinedload(Attendance.lecture), joinedload(Attendance.symposium)
        )
    )
    if "lecture_code" in query:
        statement = statement.join(Lecture, Attendance.lecture_id == Lecture.id).where(
            Lecture.code == query["lecture_code"]
        )
    if query.get("whole_day") is True:
        statement = statement.where(Attendance.lecture_id.is_(None))
    elif query.get("whole_day") is False:
        statement = statement.where(Attendance.lecture_id.is_not(None))
    if "member_no" in query:
        statement = statement.join(Member, Attendance.member_id == Member.id).where(
            Member.member_no == query["member_no"]
        )
    if query.get("voided") is True:
        statement = statement.where(Attendance.voided_at.is_not(None))
    elif query.get("voided") is False:
        statement = statement.where(Attendance.voided_at.is_(None))
    page = keyset_page(session, statement, Attendance.id, cursor=query.get("cursor"), limit=query["limit"])
    with CONTEXT(DumpContext(symposium.zone)):
        dumped = _ATTENDANCE_PAGE.dump({"items": page.items, "next_cursor": page.next_cursor})
    return jsonify(dumped)


def _scan(form: dict[str, Any], direction: str, moment: Any, operator: str) -> ScanResult:
    nonce = form.get("nonce")
    try:
        return _record(form, direction, moment, operator, nonce)
    except DomainError as error:
        if isinstance(error.details, Refusal):  # the member and target it names
            error.details = refusal_json(error.details)
        raise


def _record(
    form: dict[str, Any], direction: str, moment: Any, operator: str, nonce: str | None
) -> ScanResult:
    return record_scan(
        db_session(),
        ScanRequest(
            direction=direction,  # type: ignore[arg-type]
            member_no=form["member_no"],
            lecture_code=form.get("lecture_code"),
            symposium_code=form.get("symposium_code"),
            scanned_at=moment,
            nonce=None if nonce is None else f"{nonce}:{direction}",
            desk="api",
            method=CORRECTION_METHOD,
        ),
        card_secret=current_app.config["SECRET_KEY"],
        operator=operator,
        now=clock.now(),
        privileged=True,
    )


@blueprint.post("/attendances")
@roles_required(Role.ADMIN, api_clients=True)
def correct() -> ResponseReturnValue:
    """Record that a member was present between two times: an admin's check-in and check-out scans."""
    form = load(_CORRECTION, json_body())
    operator = current_actor().name
    session = db_session()
    begin_write(session)
    opened = _scan(form, "in", form["check_in_at"], operator)
    result = opened
    if form.get("check_out_at") is not None:
        closed = _scan(form, "out", form["check_out_at"], operator)
        if closed.scanned_at < opened.scanned_at:
            raise DomainError(
                "check_out_at is before check_in_at", code="invalid", details={"check_out_at": ["before"]}
            )
        result = closed
    if result.attendance is None:
        raise DomainError("the correction recorded no attendance", code="invalid")
    session.commit()
    attendance = session.get_one(
        Attendance,
        result.attendance.id,
        options=[
            joinedload(Attendance.member),
            joinedload(Attendance.lecture),
            joinedload(Attendance.symposium),
        ],
    )
    created = opened.created or result.created
    with CONTEXT(DumpContext(result.target.zone)):
        dumped = _CORRECTION_RESULT.dump({"created": created, "attendance": attendance})
    return jsonify(dumped), 201 if created else 200


OPERATIONS = (
    Operation(
        "get",
        "/api/v1/symposia/<code>/attendances",
        attendances,
        "A symposium's attendances, a page at a time",
        query=AttendanceQuerySchema,
        replies={200: Reply(AttendancePageSchema, "By id; voided ones too unless `voided` says otherwise.")},
        errors={404: ("unknown_symposium",), 422: ("invalid",)},
    ),
    Operation(
        "post",
        "/api/v1/attendances",
        correct,
        "Record an admin's correction: a member present between two times",
        description="Recorded as an admin's check-in and check-out scans (method `manual`), on any date and "
        "at a closed symposium too, by the rules every scan follows: a check-in inside an existing "
        "presence changes nothing, one before it starts that presence earlier, and the check-out closes the "
        "open attendance. Audited. Times in the future are refused.",
        body=CorrectionSchema,
        replies={
            201: Reply(CorrectionResultSchema, "An attendance was opened or closed."),
            200: Reply(
                CorrectionResultSchema,
                "None was opened or closed: the times lay inside a presence, or moved its start earlier.",
            ),
        },
        errors={
            404: ("unknown_member", "unknown_lecture", "unknown_symposium"),
            409: ("busy", "nonce_reused"),
            422: ("invalid", "lecture_not_in_symposium"),
        },
    ),
)
