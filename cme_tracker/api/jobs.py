"""The API of jobs for the office's scripts: the jobs a page at a time, one job's progress, and a card sheet
queued as a job (the API always queues one; the office's page prints a few cards at once).

A job's row carries its progress, updated by the worker, so polling ``GET /api/v1/jobs/{id}`` follows it.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify, request, url_for
from flask.typing import ResponseReturnValue
from marshmallow import ValidationError, fields, validate, validates_schema
from sqlalchemy import select

from cme_tracker.accounts.authentication import current_actor
from cme_tracker.api.blueprint import blueprint, json_body, load
from cme_tracker.api.operations import Operation, Reply
from cme_tracker.api.pages import PageQuerySchema, keyset_page
from cme_tracker.api.schemas import ApiSchema
from cme_tracker.db import begin_write
from cme_tracker.dumps import Answer
from cme_tracker.errors import DomainError
from cme_tracker.jobs.models import Job, JobStatus
from cme_tracker.jobs.service import get_job, submit_job
from cme_tracker.jobs.web import job_kinds, start_worker
from cme_tracker.members.card_jobs import (
    PRINT_CARD_SHEETS,
    CardSheetRequest,
    members_for_all,
    select_for_cards,
)
from cme_tracker.members.schemas import member_number_field
from cme_tracker.tabular.cells import Choice, Text
from cme_tracker.vocabulary import Role
from cme_tracker.web.security import roles_required
from cme_tracker.web.session import db_session

MAX_CARDS = 20_000


class JobSchema(Answer):
    """A job: what it does, how far it got, how it ended."""

    id = fields.Integer()
    kind = fields.String(metadata={"examples": ["cards.sheet", "export.transcripts"]})
    status = fields.String(validate=validate.OneOf(list(JobStatus)))
    parameters = fields.Dict()
    done = fields.Integer()
    total = fields.Integer()
    summary = fields.String(allow_none=True)
    errors = fields.List(fields.Dict())
    created_by = fields.String()
    created_at = fields.DateTime()
    started_at = fields.DateTime(allow_none=True)
    finished_at = fields.DateTime(allow_none=True)
    page_url = fields.Method(
        "_page_url", metadata={"type": "string", "description": "The job's page in the office."}
    )

    def _page_url(self, job: Job) -> str:
        return url_for("jobs.page", job_id=job.id)


class JobPageSchema(Answer):
    items = fields.List(fields.Nested(JobSchema), metadata={"description": "By id."})
    next_cursor = fields.String(allow_none=True)


class JobQuerySchema(PageQuerySchema):
    kind = Text(max_length=40, metadata={"description": "Only jobs of this kind."})
    status = Choice(tuple(JobStatus), metadata={"description": "Only jobs in this state."})


class CardSheetSchema(ApiSchema):
    """``POST /api/v1/card-sheets``: every active member's cards, or these members' in this order."""

    scope = Choice(("all", "selected"), load_default="selected")
    member_nos = fields.List(member_number_field(), validate=validate.Length(max=MAX_CARDS))

    @validates_schema(skip_on_field_errors=True)
    def numbers_for_a_selection(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if data["scope"] == "selected" and not data.get("member_nos"):
            raise ValidationError("required with scope selected: at least one member number", "member_nos")
        if data["scope"] == "all" and data.get("member_nos"):
            raise ValidationError("leave out with scope all", "member_nos")


_JOB = JobSchema()
_JOB_PAGE = JobPageSchema()
_QUERY = JobQuerySchema()
_CARD_SHEET = CardSheetSchema()


@blueprint.get("/jobs")
@roles_required(Role.ADMIN, api_clients=True)
def jobs() -> ResponseReturnValue:
    """Every job, oldest first, a page at a time; filtered by kind and status."""
    query = load(_QUERY, request.args.to_dict())
    statement = select(Job)
    if "kind" in query:
        statement = statement.where(Job.kind == query["kind"])
    if "status" in query:
        statement = statement.where(Job.status == JobStatus(query["status"]))
    page = keyset_page(db_session(), statement, Job.id, cursor=query.get("cursor"), limit=query["limit"])
    return jsonify(_JOB_PAGE.dump({"items": page.items, "next_cursor": page.next_cursor}))


@blueprint.get("/jobs/<int:job_id>")
@roles_required(Role.ADMIN, api_clients=True)
def job(job_id: int) -> ResponseReturnValue:
    """One job and its progress."""
    return jsonify(_JOB.dump(get_job(db_session(), job_id)))


@blueprint.post("/card-sheets")
@roles_required(Role.ADMIN, api_clients=True)
def card_sheets() -> ResponseReturnValue:
    """Queue a card sheet (the same unfinished one is not queued twice); 202 with the job to follow."""
    body = load(_CARD_SHEET, json_body())
    session = db_session()
    if body["scope"] == "all":
        if not members_for_all(session):
            raise DomainError("there are no active members to print cards for", code="nothing_to_print")
        numbers: tuple[str, ...] | None = None
    else:
        selection = select_for_cards(session, body["member_nos"])
        if selection.unknown or selection.inactive:
            raise DomainError(
                "some numbers are of no active member",
                code="unknown_members",
                details={"unknown": selection.unknown, "inactive": selection.inactive},
            )
        numbers = tuple(member.member_no for member in selection.members)
    wanted = CardSheetRequest(numbers, current_actor().name)
    begin_write(session)
    queued = submit_job(
        session,
        job_kinds(),
        kind=PRINT_CARD_SHEETS,
        parameters=wanted.parameters(),
        actor=wanted.requested_by,
    )
    session.commit()
    start_worker()
    response = jsonify(_JOB.dump(queued))
    response.headers["Location"] = url_for("api.job", job_id=queued.id)
    return response, 202


OPERATIONS = (
    Operation(
        "get",
        "/api/v1/jobs",
        jobs,
        "The jobs, a page at a time",
        query=JobQuerySchema,
        replies={200: Reply(JobPageSchema, "Oldest first.")},
        errors={422: ("invalid",)},
    ),
    Operation(
        "get",
        "/api/v1/jobs/<int:job_id>",
        job,
        "One job and its progress",
        replies={200: Reply(JobSchema, "As the worker last reported it.")},
        errors={404: ("unknown_job",)},
    ),
    Operation(
        "post",
        "/api/v1/card-sheets",
        card_sheets,
        "Queue a card sheet as a job",
        description="A worker renders the PDF into the instance folder; the job's page in the office "
        "(`page_url`) offers it for download once the job has succeeded. The same unfinished request is "
        "not queued twice.",
        body=CardSheetSchema,
        replies={202: Reply(JobSchema, "Queued (or the same job, still unfinished); `Location` names it.")},
        errors={422: ("invalid", "unknown_members", "nothing_to_print")},
    ),
)
