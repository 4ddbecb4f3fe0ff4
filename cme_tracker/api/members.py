"""The office's member records under /api/v1/members: list, add, read, edit, deactivate, reactivate, merge,
and a member's history and attendance, for admins (session or admin token).

The same services as the office's pages (members/editing.py, admin/merge.py): the values are checked by the
members importer's schema, every change is audited, and every edit names the member's version in
``If-Match`` (the ``ETag`` of a read). ``GET /api/v1/members/search`` and ``/{member_no}/credits`` live in
api/views.py; Flask prefers their static segments, so ``search`` is never read as a member number there.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify, request
from flask.typing import ResponseReturnValue
from marshmallow import fields
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from cme_tracker.accounts.authentication import current_actor
from cme_tracker.admin.merge import MergeResult, merge_members
from cme_tracker.api.blueprint import blueprint, json_body, load
from cme_tracker.api.operations import Operation, Reply
from cme_tracker.api.pages import Page, PageQuerySchema, keyset_page
from cme_tracker.api.schemas import ApiSchema
from cme_tracker.api.versions import expected_version, tagged
from cme_tracker.attendance.models import Attendance
from cme_tracker.audit.models import AuditEvent
from cme_tracker.db import begin_write
from cme_tracker.dumps import Answer
from cme_tracker.errors import NotFound
from cme_tracker.members.editing import (
    EDITABLE,
    REASON_LENGTH,
    create_member,
    current_values,
    set_active,
    update_member,
)
from cme_tracker.members.history import history_statement
from cme_tracker.members.models import Member
from cme_tracker.members.schemas import NAME_LENGTH, MemberSchema, Romaji, member_number_field
from cme_tracker.members.services import search_condition
from cme_tracker.tabular.cells import Choice, Text
from cme_tracker.vocabulary import Profession, Role
from cme_tracker.web.security import roles_required
from cme_tracker.web.session import db_session

_REQUIRED: dict[str, Any] = {"required": "required", "null": "required"}

# Requests


class MemberListQuerySchema(PageQuerySchema):
    """``GET /api/v1/members``: by number, filtered by name or number and by whether active."""

    q = Text(max_length=100, metadata={"description": "Any name in any script, or the number."})
    active = fields.Boolean(metadata={"description": "Only active (true) or only inactive (false) members."})


class NewMemberSchema(ApiSchema, MemberSchema):
    """``POST /api/v1/members``: the columns of members.csv, checked as the import checks a row."""


class MemberChangesSchema(ApiSchema, MemberSchema):
    """``PATCH /api/v1/members/{member_no}``: the fields to change; a field sent as null or "" is cleared.
    None is required here: the whole record is checked once the changes are applied."""

    profession = Choice([profession.value for profession in Profession])
    family_name = Text(max_length=NAME_LENGTH)
    given_name = Text(max_length=NAME_LENGTH)
    family_name_romaji = Romaji(max_length=NAME_LENGTH)
    given_name_romaji = Romaji(max_length=NAME_LENGTH)

    class Meta:
        exclude = ("member_no",)


class ReasonSchema(ApiSchema):
    """Why a member is deactivated or reactivated (kept in the member's history)."""

    reason = Text(max_length=REASON_LENGTH, multiline=True, required=True, error_messages=_REQUIRED)


class MergeSchema(ApiSchema):
    """``POST /api/v1/members/{member_no}/merge``: the member this walk-in or duplicate really is."""

    into = member_number_field(required=True, error_messages=_REQUIRED)


# Answers


def _merged_into(member: Member) -> str | None:
    return member.merged_into.member_no if member.merged_into is not None else None


class MemberRecordSchema(Answer):
    """A member's records as the office keeps them; ``version`` is also the answer's ``ETag``."""

    member_no = fields.String()
    name = fields.String(metadata={"description": "Family name first for a Japanese name."})
    name_romaji = fields.String()
    profession = fields.String()
    family_name = fields.String()
    given_name = fields.String()
    family_name_kana = fields.String(allow_none=True)
    given_name_kana = fields.String(allow_none=True)
    family_name_romaji = fields.String()
    given_name_romaji = fields.String()
    former_family_name = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    country = fields.String(allow_none=True)
    medical_registry_no = fields.String(allow_none=True)
    dental_registry_no = fields.String(allow_none=True)
    efn = fields.String(allow_none=True)
    active = fields.Boolean()
    needs_review = fields.Boolean(metadata={"description": "A walk-in an admin has not confirmed yet."})
    merged_into = fields.Function(
        _merged_into,
        metadata={"type": ["string", "null"], "description": "The member this one was merged into."},
    )
    card_serial = fields.Integer()
    created_at = fields.DateTime()
    version = fields.Integer(attribute="row_version")


class MemberListSchema(Answer):
    items = fields.List(fields.Nested(MemberRecordSchema))
    next_cursor = fields.String(allow_none=True)


class MovedSchema(Answer):
    attendances = fields.Integer()
    scans = fields.Integer()
    certificates = fields.Integer(metadata={"description": "Certificates and transcripts."})
    logins = fields.Integer()


class MergeResultSchema(Answer):
    """The merged member (now inactive, pointing at ``into``), the member kept, and what moved."""

    member = fields.Nested(MemberRecordSchema, attribute="source")
    into = fields.Nested(MemberRecordSchema, attribute="target")
    moved = fields.Nested(MovedSchema)


class HistoryEventSchema(Answer):
    sequence = fields.Integer()
    occurred_at = fields.DateTime()
    actor = fields.String()
    action = fields.String(metadata={"examples": ["member.update"]})
    details = fields.Dict(
        metadata={"description": "For `member.update`, `changes`: each field's `old` and `new` value."}
    )


class HistorySchema(Answer):
    items = fields.List(fields.Nested(HistoryEventSchema))
    next_cursor = fields.String(allow_none=True)


def _local(moment: Any, attendance: Attendance) -> str | None:
    return None if moment is None else moment.astimezone(attendance.symposium.zone).isoformat()


class AttendanceRecordSchema(Answer):
    """One attendance, voided ones too; ``*_local`` in the symposium's time zone."""

    id = fields.Integer()
    symposium_code = fields.String(attribute="symposium.code")
    lecture_code = fields.Function(
        lambda attendance: attendance.lecture.code if attendance.lecture is not None else None,
        metadata={"type": ["string", "null"], "description": "Null for the whole day."},
    )
    timezone = fields.String(attribute="symposium.timezone")
    check_in_at = fields.DateTime()
    check_out_at = fields.DateTime(allow_none=True)
    check_in_local = fields.Function(
        lambda attendance: _local(attendance.check_in_at, attendance),
        metadata={"type": "string", "format": "date-time"},
    )
    check_out_local = fields.Function(
        lambda attendance: _local(attendance.check_out_at, attendance),
        metadata={"type": ["string", "null"], "format": "date-time"},
    )
    method = fields.String()
    voided_at = fields.DateTime(allow_none=True)
    voided_by = fields.String(allow_none=True)
    void_reason = fields.String(allow_none=True)


class AttendanceListSchema(Answer):
    items = fields.List(fields.Nested(AttendanceRecordSchema))
    next_cursor = fields.String(allow_none=True)


LIST_QUERY = MemberListQuerySchema()
PAGE_QUERY = PageQuerySchema()
NEW_MEMBER = NewMemberSchema()
CHANGES = MemberChangesSchema()
REASON = ReasonSchema()
MERGE = MergeSchema()
_RECORD = MemberRecordSchema()
_LIST = MemberListSchema()
_MERGED = MergeResultSchema()
_HISTORY = HistorySchema()
_ATTENDANCE = AttendanceListSchema()


def _member(session: Session, member_no: str) -> Member:
    member = session.scalar(
        select(Member).where(Member.member_no == member_no).options(selectinload(Member.merged_into))
    )
    if member is None:
        raise NotFound(f"no member {member_no}", code="unknown_member")
    return member


def _record(member: Member, status: int = 200) -> ResponseReturnValue:
    response = jsonify(_RECORD.dump(member))
    response.status_code = status
    return tagged(response, member.row_version)


def _page_json(schema: Answer, page: Page[Any]) -> dict[str, Any]:
    dumped: dict[str, Any] = schema.dump({"items": page.items, "next_cursor": page.next_cursor})
    return dumped


@blueprint.get("/members")
@roles_required(Role.ADMIN, api_clients=True)
def members() -> ResponseReturnValue:
    """Members by number, a page at a time."""
    query = load(LIST_QUERY, request.args.to_dict())
    statement = select(Member).options(selectinload(Member.merged_into))
    if "q" in query:
        condition = search_condition(query["q"])
        if condition is not None:
            statement = statement.where(condition)
    if "active" in query:
        statement = statement.where(Member.active.is_(query["active"]))
    page = keyset_page(
        db_session(), statement, Member.member_no, cursor=query.get("cursor"), limit=query["limit"]
    )
    return jsonify(_page_json(_LIST, page))


@blueprint.post("/members")
@roles_required(Role.ADMIN, api_clients=True)
def add_member() -> ResponseReturnValue:
    """Add a member: 201 with the record and its ``ETag``."""
    values = load(NEW_MEMBER, json_body())
    session = db_session()
    begin_write(session)
    member = create_member(session, values, actor=current_actor().name)
    session.commit()
    return _record(member, 201)


@blueprint.get("/members/<member_no>")
@roles_required(Role.ADMIN, api_clients=True)
def member(member_no: str) -> ResponseReturnValue:
    """One member's records, with the version to edit them against as the ``ETag``."""
    return _record(_member(db_session(), member_no))


@blueprint.patch("/members/<member_no>")
@roles_required(Role.ADMIN, api_clients=True)
def edit_member(member_no: str) -> ResponseReturnValue:
    """Change some of a member's fields; the others stay. A field sent as null or "" is cleared."""
    version = expected_version()
    body = json_body()
    cleared = [
        name
        for name, value in body.items()
        if name in EDITABLE and (value is None or (isinstance(value, str) and not value.strip()))
    ]
    changes = load(CHANGES, body)
    session = db_session()
    begin_write(session)
    member = _member(session, member_no)
    values = {**current_values(member), **changes, **dict.fromkeys(cleared)}
    update_member(
        session,
        member,
        {name: value for name, value in values.items() if value is not None},
        actor=current_actor().name,
        expected_version=version,
    )
    session.commit()
    return _record(member)


def _state(member_no: str, active: bool) -> ResponseReturnValue:
    version = expected_version()
    form = load(REASON, json_body())
    session = db_session()
    begin_write(session)
    member = _member(session, member_no)
    set_active(
        session, member, active, reason=form["reason"], actor=current_actor().name, expected_version=version
    )
    session.commit()
    return _record(member)


@blueprint.post("/members/<member_no>/deactivate")
@roles_required(Role.ADMIN, api_clients=True)
def deactivate_member(member_no: str) -> ResponseReturnValue:
    """Deactivate a member: left out of searches and card sheets; every record stays."""
    return _state(member_no, False)


@blueprint.post("/members/<member_no>/reactivate")
@roles_required(Role.ADMIN, api_clients=True)
def reactivate_member(member_no: str) -> ResponseReturnValue:
    """Make a deactivated member active again."""
    return _state(member_no, True)


@blueprint.post("/members/<member_no>/merge")
@roles_required(Role.ADMIN, api_clients=True)
def merge_member(member_no: str) -> ResponseReturnValue:
    """Merge this walk-in or duplicate into the member ``into``; ``If-Match`` is this member's version."""
    version = expected_version()
    form = load(MERGE, json_body())
    session = db_session()
    begin_write(session)
    source = _member(session, member_no)
    target = _member(session, form["into"])
    result: MergeResult = merge_members(
        session, source, target, actor=current_actor().name, expected_version=version
    )
    session.commit()
    session.refresh(source, ["merged_into"])
    response = jsonify(_MERGED.dump(result))
    return tagged(response, source.row_version)


@blueprint.get("/members/<member_no>/history")
@roles_required(Role.ADMIN, api_clients=True)
def member_history(member_no: str) -> ResponseReturnValue:
    """The audit events whose target is the member, newest first."""
    query = load(PAGE_QUERY, request.args.to_dict())
    session = db_session()
    member = _member(session, member_no)
    page = keyset_page(
        session,
        history_statement(member.member_no),
        AuditEvent.sequence,
        cursor=query.get("cursor"),
        limit=query["limit"],
        descending=True,
    )
    return jsonify(_page_json(_HISTORY, page))


@blueprint.get("/members/<member_no>/attendance")
@roles_required(Role.ADMIN, api_clients=True)
def member_attendance(member_no: str) -> ResponseReturnValue:
    """Every attendance of the member, voided ones too, oldest record first."""
    query = load(PAGE_QUERY, request.args.to_dict())
    session = db_session()
    member = _member(session, member_no)
    statement = (
        select(Attendance)
        .where(Attendance.member_id == member.id)
        .options(selectinload(Attendance.symposium), selectinload(Attendance.lecture))
    )
    page = keyset_page(session, statement, Attendance.id, cursor=query.get("cursor"), limit=query["limit"])
    return jsonify(_page_json(_ATTENDANCE, page))


_UNKNOWN = {404: ("unknown_member",)}
OPERATIONS = (
    Operation(
        "get",
        "/api/v1/members",
        members,
        "List members by number",
        query=MemberListQuerySchema,
        replies={200: Reply(MemberListSchema, "A page of members.")},
        errors={422: ("invalid",)},
    ),
    Operation(
        "post",
        "/api/v1/members",
        add_member,
        "Add a member",
        description="The fields of members.csv, checked as the members import checks a row. A registry "
        "number or EFN another member holds is refused (`registry_number_taken`): merge the duplicate.",
        body=NewMemberSchema,
        replies={201: Reply(MemberRecordSchema, "Added; the `ETag` is its version.")},
        errors={409: ("member_no_taken", "registry_number_taken"), 422: ("invalid",)},
    ),
    Operation(
        "get",
        "/api/v1/members/<member_no>",
        member,
        "A member's records",
        replies={200: Reply(MemberRecordSchema, "The `ETag` is the version to edit against.")},
        errors=_UNKNOWN,
        versioned=True,
    ),
    Operation(
        "patch",
        "/api/v1/members/<member_no>",
        edit_member,
        "Change a member's records",
        description="Fields left out stay as they are; a field sent as null or an empty string is cleared "
        "(refused for a required one). The whole record is then checked as the members import checks a row. "
        "The number cannot change.",
        body=MemberChangesSchema,
        replies={200: Reply(MemberRecordSchema, "Saved (or nothing changed); the new `ETag`.")},
        errors={**_UNKNOWN, 409: ("registry_number_taken",), 422: ("invalid",)},
        versioned=True,
    ),
    Operation(
        "post",
        "/api/v1/members/<member_no>/deactivate",
        deactivate_member,
        "Deactivate a member",
        body=ReasonSchema,
        replies={200: Reply(MemberRecordSchema, "Deactivated.")},
        errors={**_UNKNOWN, 409: ("already_inactive", "already_merged"), 422: ("invalid",)},
        versioned=True,
    ),
    Operation(
        "post",
        "/api/v1/members/<member_no>/reactivate",
        reactivate_member,
        "Reactivate a member",
        body=ReasonSchema,
        replies={200: Reply(MemberRecordSchema, "Active again.")},
        errors={**_UNKNOWN, 409: ("already_active", "already_merged"), 422: ("invalid",)},
        versioned=True,
    ),
    Operation(
        "post",
        "/api/v1/members/<member_no>/merge",
        merge_member,
        "Merge a walk-in or duplicate into another member",
        description="Attendances, scans, certificates and transcripts, and the login move to `into`; this "
        "member becomes inactive and points at it. Refused, with nothing moved, when both are checked in and "
        "not out at the same lecture or day, both hold a valid document of one subject (revoke one first), "
        "both have a login, either was merged already, or they are the same member.",
        body=MergeSchema,
        replies={200: Reply(MergeResultSchema, "Merged; the `ETag` is this member's new version.")},
        errors={
            **_UNKNOWN,
            409: (
                "same_member",
                "already_merged",
                "open_attendance_overlap",
                "certificate_conflict",
                "login_conflict",
            ),
            422: ("invalid",),
        },
        versioned=True,
    ),
    Operation(
        "get",
        "/api/v1/members/<member_no>/history",
        member_history,
        "A member's change history, newest first",
        query=PageQuerySchema,
        replies={200: Reply(HistorySchema, "A page of the member's audit events.")},
        errors={**_UNKNOWN, 422: ("invalid",)},
    ),
    Operation(
        "get",
        "/api/v1/members/<member_no>/attendance",
        member_attendance,
        "A member's attendances, voided ones too",
        query=PageQuerySchema,
        replies={200: Reply(AttendanceListSchema, "A page of attendances, by record number.")},
        errors={**_UNKNOWN, 422: ("invalid",)},
    ),
)
