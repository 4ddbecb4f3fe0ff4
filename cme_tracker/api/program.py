"""The program under ``/api/v1``: symposia and lectures, read, created, edited (with versions), opened and
closed, previewed (what an edit would change) and the reissue of the documents an edit left behind.

The same services as the office's pages (:mod:`cme_tracker.program_office`), for admins by session or by an
admin API token. Bodies are validated by the program importer's own fields and checks: an edit is the current
values with the body's over them, loaded by the program's schema. Registered on the ``api`` blueprint when
imported.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any, cast

from flask import Response, jsonify, request, url_for
from flask.typing import ResponseReturnValue
from marshmallow import Schema, ValidationError, fields, validate
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cme_tracker.accounts.authentication import current_actor
from cme_tracker.api.blueprint import blueprint, json_body, load
from cme_tracker.api.operations import Operation, Reply
from cme_tracker.api.pages import PageQuerySchema, keyset_page
from cme_tracker.api.schemas import ApiSchema
from cme_tracker.api.versions import expected_version, tagged
from cme_tracker.attendance.models import Attendance
from cme_tracker.db import begin_write
from cme_tracker.documents.web import document_kinds
from cme_tracker.dumps import Amount, Answer
from cme_tracker.errors import DomainError
from cme_tracker.jobs.models import Job
from cme_tracker.jobs.web import job_kinds, start_worker
from cme_tracker.program.models import Lecture, Symposium
from cme_tracker.program.schemas import LectureSchema, SymposiumSchema
from cme_tracker.program.services import close_symposium, open_symposium
from cme_tracker.program_office import editing
from cme_tracker.program_office.editing import LectureValues, SymposiumValues
from cme_tracker.program_office.impact import Impact, affected_documents, preview
from cme_tracker.program_office.reissue import submit_reissue
from cme_tracker.vocabulary import CmeField, Role, SymposiumKind, SymposiumStatus
from cme_tracker.web.security import roles_required
from cme_tracker.web.session import db_session

_INTERVAL = r"^[0-9]{1,2}:[0-9]{2}-[0-9]{1,2}:[0-9]{2}$"


def _request_schema(
    source: type[Schema],
    name: str,
    *,
    leave_out: Sequence[str] = (),
    optional: bool = False,
    extra: Mapping[str, fields.Field[Any]] | None = None,
) -> type[ApiSchema]:
    """A request schema with the fields of the program's ``source`` schema (``optional``: none required, as a
    PATCH sends them); ``extra`` adds or replaces fields."""
    declared: dict[str, Any] = {}
    for field_name, field in source._declared_fields.items():
        if field_name in leave_out:
            continue
        copied = copy.copy(field)
        if optional:
            copied.required = False
        declared[field_name] = copied
    declared.update(extra or {})
    return cast(type[ApiSchema], type(name, (ApiSchema,), declared))


class SymposiumCreateSchema(SymposiumSchema, ApiSchema):
    """``POST /api/v1/symposia``: the program file's symposium fields; ``timezone`` defaults to Asia/Tokyo
    and ``kind`` to ``regular``."""


SymposiumPatchSchema = _request_schema(
    SymposiumSchema, "SymposiumPatchSchema", leave_out=("code",), optional=True
)


class _ExcludedList(fields.List):  # type: ignore[type-arg]
    """Excluded intervals as a list of ``HH:MM-HH:MM``; the program's check of them runs on the whole."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            fields.String(validate=validate.Regexp(_INTERVAL, error="not HH:MM-HH:MM")),
            validate=validate.Length(max=20),
            metadata={"description": "Breaks inside the lecture, `HH:MM-HH:MM` in the symposium's zone."},
            **kwargs,
        )


LectureCreateSchema = _request_schema(
    LectureSchema, "LectureCreateSchema", extra={"excluded": _ExcludedList()}
)
"""``POST /api/v1/symposia/{code}/lectures``: a program file's lecture fields (times ``HH:MM`` local)."""
LecturePatchSchema = _request_schema(
    LectureSchema,
    "LecturePatchSchema",
    leave_out=("code",),
    optional=True,
    extra={
        "excluded": _ExcludedList(),
        "position": fields.Integer(
            strict=True, validate=validate.Range(1, 999), metadata={"description": "1 is the first lecture."}
        ),
    },
)
"""``PATCH /api/v1/lectures/{code}`` (and its impact preview): the fields to change; ``position`` moves it."""


class ProgramSymposiumSchema(Answer):
    code = fields.String()
    date = fields.Date(attribute="held_on")
    timezone = fields.String()
    title_ja = fields.String()
    title_en = fields.String()
    venue = fields.String(allow_none=True)
    kind = fields.String(validate=validate.OneOf([value.value for value in SymposiumKind]))
    status = fields.String(validate=validate.OneOf([value.value for value in SymposiumStatus]))
    version = fields.Integer(attribute="row_version")
    lecture_count = fields.Integer(metadata={"description": "How many lectures it has."})
    attendance_count = fields.Integer(metadata={"description": "Attendances recorded (not voided)."})


class SymposiumListSchema(Answer):
    items = fields.List(fields.Nested(ProgramSymposiumSchema))
    next_cursor = fields.String(allow_none=True)


class ProgramLectureSchema(Answer):
    code = fields.String()
    symposium_code = fields.String()
    position = fields.Integer()
    starts_at = fields.String(metadata={"description": "HH:MM in the symposium's zone."})
    ends_at = fields.String(metadata={"description": "HH:MM in the symposium's zone."})
    field = fields.String(validate=validate.OneOf([value.value for value in CmeField]))
    title_ja = fields.String()
    title_en = fields.String(allow_none=True)
    speaker = fields.String()
    speaker_affiliation = fields.String(allow_none=True)
    language = fields.String(allow_none=True)
    jma_cc = fields.String(allow_none=True)
    jda_code = fields.String(allow_none=True)
    excluded = fields.List(fields.String())
    version = fields.Integer()


class LectureListSchema(Answer):
    items = fields.List(fields.Nested(ProgramLectureSchema))
    next_cursor = fields.String(allow_none=True)


class RemovedLectureSchema(Answer):
    code = fields.String()
    removed = fields.Boolean()


class CreditChangeSchema(Answer):
    member_no = fields.String()
    name = fields.String()
    year = fields.Integer()
    policy = fields.String()
    unit = fields.String()
    before = Amount()
    after = Amount()


class AffectedDocumentSchema(Answer):
    serial = fields.String()
    kind = fields.String(validate=validate.OneOf(["attendance", "transcript"]))
    member_no = fields.String()
    name = fields.String()
    subject = fields.String(metadata={"examples": ["attendance/2026-11", "transcript/2026-calendar"]})
    reason = fields.String(
        validate=validate.OneOf(["changed", "not_credited"]),
        metadata={
            "description": "`changed`: reissue it; `not_credited`: nothing credited any more, revoke it."
        },
    )
    covers_lecture = fields.Boolean()


class ImpactSchema(Answer):
    attendees = fields.Integer()
    credits = fields.List(fields.Nested(CreditChangeSchema))
    documents = fields.List(fields.Nested(AffectedDocumentSchema))


class ReissueJobSchema(Answer):
    id = fields.Integer()
    kind = fields.String()
    status = fields.String()
    serials = fields.List(fields.String(), attribute="parameters.serials")
    page = fields.String(metadata={"description": "The office's page of the job's progress."})


def _actor() -> str:
    return current_actor().name


def _text(body: Mapping[str, Any]) -> dict[str, Any]:
    """A body's values as the program's schema reads them: excluded intervals joined, nulls and blanks out."""
    text: dict[str, Any] = {}
    for key, value in body.items():
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        text[key] = "; ".join(value) if key == "excluded" and isinstance(value, list) else value
    if body.get("excluded") == []:
        text["excluded"] = ""
    return text


def _parsed(parse: Any, text: Mapping[str, Any], current: Any = None) -> Any:
    try:
        return parse(text, current)
    except ValidationError as error:
        raise DomainError("the request has invalid fields", code="invalid", details=error.messages) from None


def _symposium_json(session: Session, symposia: Sequence[Symposium]) -> list[dict[str, Any]]:
    ids = [symposium.id for symposium in symposia]
    lectures: dict[int, int] = {
        key: count
        for key, count in session.execute(
            select(Lecture.symposium_id, func.count())
            .where(Lecture.symposium_id.in_(ids))
            .group_by(Lecture.symposium_id)
        )
    }
    attendances: dict[int, int] = {
        key: count
        for key, count in session.execute(
            select(Attendance.symposium_id, func.count())
            .where(Attendance.symposium_id.in_(ids), Attendance.voided_at.is_(None))
            .group_by(Attendance.symposium_id)
        )
    }
    schema = ProgramSymposiumSchema()
    return [
        schema.dump(symposium)
        | {
            "lecture_count": lectures.get(symposium.id, 0),
            "attendance_count": attendances.get(symposium.id, 0),
        }
        for symposium in symposia
    ]


def _one_symposium(session: Session, symposium: Symposium, status: int = 200) -> Response:
    response = jsonify(_symposium_json(session, [symposium])[0])
    response.status_code = status
    return tagged(response, symposium.row_version)


def lecture_json(lecture: Lecture) -> dict[str, Any]:
    values = LectureValues.of(lecture)
    text = values.as_text()
    return {
        **{
            key: text[key] or None
            for key in ("title_en", "speaker_affiliation", "language", "jma_cc", "jda_code")
        },
        "code": lecture.code,
        "symposium_code": lecture.symposium.code,
        "position": lecture.position,
        "starts_at": text["starts_at"],
        "ends_at": text["ends_at"],
        "field": values.field.value,
        "title_ja": values.title_ja,
        "speaker": values.speaker,
        "excluded": [f"{start:%H:%M}-{end:%H:%M}" for start, end in values.excluded],
        "version": lecture.row_version,
    }


def _one_lecture(lecture: Lecture, status: int = 200) -> Response:
    response = jsonify(ProgramLectureSchema().dump(lecture_json(lecture)))
    response.status_code = status
    return tagged(response, lecture.row_version)


@blueprint.get("/symposia")
@roles_required(Role.ADMIN, api_clients=True)
def symposia() -> ResponseReturnValue:
    """The symposia by code, a page at a time."""
    query = load(PageQuerySchema(), request.args)
    session = db_session()
    page = keyset_page(
        session, select(Symposium), Symposium.code, cursor=query.get("cursor"), limit=query["limit"]
    )
    return jsonify({"items": _symposium_json(session, page.items), "next_cursor": page.next_cursor})


@blueprint.post("/symposia")
@roles_required(Role.ADMIN, api_clients=True)
def create_symposium() -> ResponseReturnValue:
    """A new scheduled symposium, without lectures."""
    body = json_body()
    load(SymposiumCreateSchema(), body)
    values: SymposiumValues = _parsed(editing.parse_symposium, _text(body))
    session = db_session()
    begin_write(session)
    symposium = editing.create_symposium(session, values, actor=_actor())
    session.commit()
    return _one_symposium(session, symposium, 201)


@blueprint.get("/symposia/<code>")
@roles_required(Role.ADMIN, api_clients=True)
def symposium(code: str) -> ResponseReturnValue:
    session = db_session()
    return _one_symposium(session, editing.find_symposium(session, code))


@blueprint.patch("/symposia/<code>")
@roles_required(Role.ADMIN, api_clients=True)
def update_symposium(code: str) -> ResponseReturnValue:
    """Change a symposium; a new date or zone moves its lectures, keeping their local times."""
    version = expected_version()
    body = json_body()
    load(SymposiumPatchSchema(), body)
    session = db_session()
    begin_write(session)
    found = editing.find_symposium(session, code, for_update=True)
    values = _parsed(editing.parse_symposium, _text(body), SymposiumValues.of(found))
    editing.update_symposium(session, found, values, actor=_actor(), expected_version=version)
    session.commit()
    return _one_symposium(session, found)


def _set_status(code: str, opening: bool) -> ResponseReturnValue:
    version = expected_version()
    session = db_session()
    begin_write(session)
    found = editing.find_symposium(session, code, for_update=True)
    change = open_symposium if opening else close_symposium
    change(session, found, actor=_actor(), expected_version=version)
    session.commit()
    return _one_symposium(session, found)


@blueprint.post("/symposia/<code>/open")
@roles_required(Role.ADMIN, api_clients=True)
def open_(code: str) -> ResponseReturnValue:
    """Open a closed symposium: desks record its scans again on its day."""
    return _set_status(code, True)


@blueprint.post("/symposia/<code>/close")
@roles_required(Role.ADMIN, api_clients=True)
def close(code: str) -> ResponseReturnValue:
    """Close a symposium: desks can no longer record its scans (admins can)."""
    return _set_status(code, False)


@blueprint.get("/symposia/<code>/lectures")
@roles_required(Role.ADMIN, api_clients=True)
def lectures(code: str) -> ResponseReturnValue:
    """A symposium's lectures in their order, a page at a time."""
    query = load(PageQuerySchema(), request.args)
    session = db_session()
    found = editing.find_symposium(session, code)
    page = keyset_page(
        session,
        select(Lecture).where(Lecture.symposium_id == found.id),
        Lecture.position,
        cursor=query.get("cursor"),
        limit=query["limit"],
    )
    schema = ProgramLectureSchema()
    return jsonify(
        {"items": [schema.dump(lecture_json(item)) for item in page.items], "next_cursor": page.next_cursor}
    )


@blueprint.post("/symposia/<code>/lectures")
@roles_required(Role.ADMIN, api_clients=True)
def add_lecture(code: str) -> ResponseReturnValue:
    """A new lecture of the symposium, after those that start before it."""
    body = json_body()
    load(LectureCreateSchema(), body)
    values: LectureValues = _parsed(editing.parse_lecture, _text(body))
    session = db_session()
    begin_write(session)
    found = editing.find_symposium(session, code, for_update=True)
    lecture = editing.add_lecture(session, found, values, actor=_actor())
    session.commit()
    return _one_lecture(lecture, 201)


@blueprint.get("/lectures/<code>")
@roles_required(Role.ADMIN, api_clients=True)
def lecture(code: str) -> ResponseReturnValue:
    return _one_lecture(editing.find_lecture(db_session(), code))


def _proposal(found: Lecture, body: Mapping[str, Any]) -> LectureValues:
    text = {key: value for key, value in _text(body).items() if key != "position"}
    proposed: LectureValues = _parsed(editing.parse_lecture, text, LectureValues.of(found))
    return proposed


@blueprint.patch("/lectures/<code>")
@roles_required(Role.ADMIN, api_clients=True)
def update_lecture(code: str) -> ResponseReturnValue:
    """Change a lecture, and with ``position`` its place in the program."""
    version = expected_version()
    body = json_body()
    patch = load(LecturePatchSchema(), body)
    session = db_session()
    begin_write(session)
    found = editing.find_lecture(session, code, for_update=True)
    values = _proposal(found, body)
    actor = _actor()
    editing.update_lecture(session, found, values, actor=actor, expected_version=version)
    if "position" in patch:
        editing.move_lecture(session, found, patch["position"], actor=actor, expected_version=None)
    session.commit()
    return _one_lecture(found)


@blueprint.delete("/lectures/<code>")
@roles_required(Role.ADMIN, api_clients=True)
def remove_lecture(code: str) -> ResponseReturnValue:
    """Remove a lecture nothing refers to yet (no attendance, scan or issued document)."""
    version = expected_version()
    session = db_session()
    begin_write(session)
    found = editing.find_lecture(session, code, for_update=True)
    editing.remove_lecture(session, found, actor=_actor(), expected_version=version)
    session.commit()
    return jsonify(RemovedLectureSchema().dump({"code": code, "removed": True}))


def impact_json(impact: Impact) -> dict[str, Any]:
    dumped: dict[str, Any] = ImpactSchema().dump(
        {"attendees": impact.attendees, "credits": impact.credits, "documents": impact.documents}
    )
    return dumped


@blueprint.post("/lectures/<code>/impact")
@roles_required(Role.ADMIN, api_clients=True)
def lecture_impact(code: str) -> ResponseReturnValue:
    """What a proposed change of the lecture would change; nothing is written."""
    body = json_body()
    load(LecturePatchSchema(), body)
    session = db_session()
    begin_write(session)
    found = editing.find_lecture(session, code)
    values = _proposal(found, body)
    day = found.symposium.held_on
    impact = preview(
        session,
        document_kinds(),
        found.symposium,
        {day},
        lambda: editing.write_lecture(session, found, values),
        lecture_code=code,
    )
    session.rollback()
    return jsonify(impact_json(impact))


def reissue_json(job: Job) -> dict[str, Any]:
    dumped: dict[str, Any] = ReissueJobSchema().dump(job)
    return dumped | {"page": url_for("jobs.page", job_id=job.id)}


@blueprint.post("/lectures/<code>/reissue")
@roles_required(Role.ADMIN, api_clients=True)
def reissue(code: str) -> ResponseReturnValue:
    """Queue the reissue of the valid documents whose content no longer matches the lecture's symposium."""
    session = db_session()
    begin_write(session)
    found = editing.find_lecture(session, code)
    symposium = found.symposium
    affected = affected_documents(
        session, document_kinds(), symposium, {symposium.held_on}, lecture_code=code
    )
    serials = [document.serial for document in affected if document.reason == "changed"]
    job = submit_reissue(session, job_kinds(), serials, actor=_actor(), reason=f"lecture:{code}")
    session.commit()
    start_worker()
    response = jsonify(reissue_json(job))
    response.status_code = 202
    return response


_VERSIONED_READ = "Its version is the answer's `ETag`."
OPERATIONS = (
    Operation(
        "get",
        "/api/v1/symposia",
        symposia,
        "The symposia, by code",
        query=PageQuerySchema,
        replies={
            200: Reply(SymposiumListSchema, "A page of symposia, with their lecture and attendance counts.")
        },
        errors={422: ("invalid",)},
    ),
    Operation(
        "post",
        "/api/v1/symposia",
        create_symposium,
        "Create a symposium",
        body=SymposiumCreateSchema,
        replies={
            201: Reply(ProgramSymposiumSchema, "Created, scheduled, without lectures. " + _VERSIONED_READ)
        },
        errors={409: ("symposium_exists",), 422: ("invalid",)},
    ),
    Operation(
        "get",
        "/api/v1/symposia/<code>",
        symposium,
        "A symposium",
        replies={200: Reply(ProgramSymposiumSchema, _VERSIONED_READ)},
        errors={404: ("unknown_symposium",)},
        versioned=True,
    ),
    Operation(
        "patch",
        "/api/v1/symposia/<code>",
        update_symposium,
        "Change a symposium",
        description="The fields given replace the current ones; the code cannot change. A new date or time "
        "zone moves the lectures, keeping their local times.",
        body=SymposiumPatchSchema,
        replies={200: Reply(ProgramSymposiumSchema, "Saved. " + _VERSIONED_READ)},
        errors={404: ("unknown_symposium",), 422: ("invalid",)},
        versioned=True,
    ),
    Operation(
        "post",
        "/api/v1/symposia/<code>/open",
        open_,
        "Open a closed symposium",
        replies={200: Reply(ProgramSymposiumSchema, "Opened (`scheduled`).")},
        errors={404: ("unknown_symposium",), 409: ("already_open",)},
        versioned=True,
    ),
    Operation(
        "post",
        "/api/v1/symposia/<code>/close",
        close,
        "Close a symposium",
        replies={200: Reply(ProgramSymposiumSchema, "Closed: desks can no longer record its scans.")},
        errors={404: ("unknown_symposium",), 409: ("already_closed",)},
        versioned=True,
    ),
    Operation(
        "get",
        "/api/v1/symposia/<code>/lectures",
        lectures,
        "A symposium's lectures, in order",
        query=PageQuerySchema,
        replies={200: Reply(LectureListSchema, "A page of lectures, by position.")},
        errors={404: ("unknown_symposium",), 422: ("invalid",)},
    ),
    Operation(
        "post",
        "/api/v1/symposia/<code>/lectures",
        add_lecture,
        "Add a lecture",
        body=LectureCreateSchema,
        replies={201: Reply(ProgramLectureSchema, "Added. " + _VERSIONED_READ)},
        errors={404: ("unknown_symposium",), 409: ("lecture_exists",), 422: ("invalid",)},
    ),
    Operation(
        "get",
        "/api/v1/lectures/<code>",
        lecture,
        "A lecture",
        replies={200: Reply(ProgramLectureSchema, _VERSIONED_READ)},
        errors={404: ("unknown_lecture",)},
        versioned=True,
    ),
    Operation(
        "patch",
        "/api/v1/lectures/<code>",
        update_lecture,
        "Change a lecture",
        description="The fields given replace the current ones (an empty `excluded` list removes the "
        "intervals); the code cannot change. Preview the effect first with `POST .../impact`.",
        body=LecturePatchSchema,
        replies={200: Reply(ProgramLectureSchema, "Saved. " + _VERSIONED_READ)},
        errors={404: ("unknown_lecture",), 422: ("invalid",)},
        versioned=True,
    ),
    Operation(
        "delete",
        "/api/v1/lectures/<code>",
        remove_lecture,
        "Remove a lecture",
        description="Only while nothing refers to it: no attendance, no scan, no issued document "
        "(`lecture_in_use`, with the counts and serials in `details`).",
        replies={200: Reply(RemovedLectureSchema, "Removed; the lectures after it move up.")},
        errors={404: ("unknown_lecture",), 409: ("lecture_in_use",)},
        versioned=True,
    ),
    Operation(
        "post",
        "/api/v1/lectures/<code>/impact",
        lecture_impact,
        "Preview what a change of a lecture would change",
        description="The body is a PATCH's. Members whose calendar-year credits would change, and the valid "
        "certificates and transcripts whose frozen content would differ. Nothing is written.",
        body=LecturePatchSchema,
        replies={200: Reply(ImpactSchema, "The credits and documents that would change.")},
        errors={404: ("unknown_lecture",), 422: ("invalid",)},
    ),
    Operation(
        "post",
        "/api/v1/lectures/<code>/reissue",
        reissue,
        "Reissue the documents a saved change left behind",
        description="Queues a job reissuing every valid document of the lecture's symposium and of its "
        "attendees' years whose content no longer matches; the same unfinished job is not queued twice.",
        replies={202: Reply(ReissueJobSchema, "Queued (or the same job already waiting).")},
        errors={404: ("unknown_lecture",), 422: ("nothing_to_reissue",)},
    ),
)
