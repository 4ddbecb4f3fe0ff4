"""``/api/v1/imports``: upload a members, program or attendance file, see its dry run, confirm its import, and
list the runs. Admins only (sessions and admin API tokens). The pages and these routes share
:mod:`cme_tracker.import_runs.web`, so both check and import with the same importers as the command line.

The file is the request's body (``text/csv``, the XLSX media type, or ``application/octet-stream`` with
``file_name``), or the ``file`` part of a ``multipart/form-data`` body. A run whose file has problems is
recorded too, and answered 422 ``import_rejected`` listing every problem with its line and column.
"""

from __future__ import annotations

from flask import jsonify, request
from flask.typing import ResponseReturnValue
from marshmallow import fields
from sqlalchemy import select

from cme_tracker.api.blueprint import blueprint, load
from cme_tracker.api.operations import Operation, Reply
from cme_tracker.api.pages import PageQuerySchema, keyset_page
from cme_tracker.api.schemas import ApiSchema
from cme_tracker.api.versions import expected_version, tagged
from cme_tracker.errors import DomainError, NotFound
from cme_tracker.import_runs.models import ImportKind, ImportRun, ImportRunStatus
from cme_tracker.import_runs.schemas import ImportRunPageSchema, ImportRunSchema
from cme_tracker.import_runs.services import Upload, get_run, rejection
from cme_tracker.import_runs.web import confirm_run, upload_and_check
from cme_tracker.tabular.cells import Text
from cme_tracker.vocabulary import Role
from cme_tracker.web.security import roles_required
from cme_tracker.web.session import db_session

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MEDIA_SUFFIXES = {
    "text/csv": ".csv",
    XLSX_MEDIA_TYPE: ".xlsx",
    "application/vnd.ms-excel.sheet.macroenabled.12": ".xlsm",
}
"""A body's media type and the suffix its file is read by, unless ``file_name`` names it."""
FILE_MEDIA_TYPES = ("text/csv", XLSX_MEDIA_TYPE, "application/octet-stream")
_RUN = ImportRunSchema()
_PAGE = ImportRunPageSchema()


class ImportUploadQuerySchema(ApiSchema):
    """The query of an upload."""

    dry_run = fields.Boolean(
        load_default=True,
        metadata={
            "description": "`true` (default): check only, and confirm later; `false`: import at once "
            "if the file passes."
        },
    )
    file_name = Text(
        max_length=200,
        metadata={
            "description": "The file's name (its suffix `.csv`, `.xlsx` says how it is read); default "
            "`KIND.csv` or `KIND.xlsx` after the media type. A multipart part's own name is used."
        },
    )


class ImportListQuerySchema(PageQuerySchema):
    """The runs, oldest first, by id."""


def _kind(kind: str) -> ImportKind:
    try:
        return ImportKind(kind)
    except ValueError:
        raise NotFound(
            f"no kind of import {kind!r}; the kinds are members, program, attendance",
            code="unknown_import_kind",
        ) from None


def _upload(kind: ImportKind, file_name: str | None) -> Upload:
    if request.mimetype == "multipart/form-data":
        part = request.files.get("file")
        if part is None:
            raise DomainError(
                "send the file as the multipart part named file",
                code="invalid",
                details={"file": ["missing"]},
            )
        return Upload(kind, file_name or part.filename or "", part.read())
    data = request.get_data(cache=False)
    if not data:
        raise DomainError("the body is empty: send the file", code="invalid", details={"body": ["empty"]})
    if file_name is None:
        suffix = MEDIA_SUFFIXES.get(request.mimetype)
        if suffix is None:
            raise DomainError(
                "say what the file is: Content-Type text/csv or the XLSX media type, or a file_name",
                code="invalid",
                details={"file_name": ["required for this Content-Type"]},
            )
        file_name = f"{kind.value}{suffix}"
    return Upload(kind, file_name, data)


def _answer(run: ImportRun, status: int) -> ResponseReturnValue:
    if run.status in (ImportRunStatus.DRY_RUN_FAILED, ImportRunStatus.FAILED):
        raise rejection(run)  # the run is committed; the 422 lists its problems
    response = jsonify(_RUN.dump(run))
    response.status_code = 202 if run.in_progress else status
    return tagged(response, run.row_version)


@blueprint.post("/imports/<kind>")
@roles_required(Role.ADMIN, api_clients=True)
def upload_import(kind: str) -> ResponseReturnValue:
    """Upload a file and check it; with ``dry_run=false``, import it too when it passes."""
    import_kind = _kind(kind)
    query = load(ImportUploadQuerySchema(), request.args.to_dict())
    run = upload_and_check(_upload(import_kind, query.get("file_name")), then_import=not query["dry_run"])
    return _answer(run, 201)


@blueprint.post("/imports/<int:run_id>/confirm")
@roles_required(Role.ADMIN, api_clients=True)
def confirm_import(run_id: int) -> ResponseReturnValue:
    """Import a run whose dry run passed, once."""
    version = expected_version()
    get_run(db_session(), run_id)  # an unknown run is 404 before anything else
    return _answer(confirm_run(run_id, version), 200)


@blueprint.get("/imports")
@roles_required(Role.ADMIN, api_clients=True)
def import_runs() -> ResponseReturnValue:
    query = load(ImportListQuerySchema(), request.args.to_dict())
    page = keyset_page(
        db_session(), select(ImportRun), ImportRun.id, cursor=query.get("cursor"), limit=query["limit"]
    )
    return jsonify(_PAGE.dump(page))


@blueprint.get("/imports/<int:run_id>")
@roles_required(Role.ADMIN, api_clients=True)
def import_run(run_id: int) -> ResponseReturnValue:
    run = get_run(db_session(), run_id)
    return tagged(jsonify(_RUN.dump(run)), run.row_version)


_PROBLEMS = (
    "A file with problems: the run is recorded (`dry_run_failed`, or `failed` when the import found what "
    "the dry run had not), and `details` holds `run_id`, `error_count` and `errors` (each with `line`, "
    "`column`, `reason` and the command line's `message`)."
)

OPERATIONS = (
    Operation(
        "post",
        "/api/v1/imports/<kind>",
        upload_import,
        "Upload an import file and check it (a dry run)",
        description="`kind` is `members`, `program` or `attendance`. The file is the body (`text/csv`, XLSX, "
        "or `application/octet-stream` with `file_name`) or the `file` part of a multipart body. The "
        "answer counts the rows to add, change and leave unchanged. A file larger than "
        "`CME_IMPORT_JOB_BYTES` is checked (and imported) by a job: 202 with `status` `checking` and the "
        "`job_id`; GET the run until it is done. " + _PROBLEMS,
        query=ImportUploadQuerySchema,
        files=FILE_MEDIA_TYPES,
        replies={
            201: Reply(ImportRunSchema, "Checked (`dry_run_ok`), or with `dry_run=false` imported."),
            202: Reply(ImportRunSchema, "A large file: queued as a job."),
        },
        errors={404: ("unknown_import_kind",), 422: ("invalid", "import_rejected")},
    ),
    Operation(
        "post",
        "/api/v1/imports/<int:run_id>/confirm",
        confirm_import,
        "Import a checked file, all or nothing",
        description="Only a run whose dry run passed (`dry_run_ok`), once: a second confirmation answers "
        "409 `already_imported` and imports nothing. The import checks the file again; if the records "
        "changed since the dry run so that it no longer passes, nothing is written. " + _PROBLEMS,
        versioned=True,
        replies={
            200: Reply(ImportRunSchema, "Imported."),
            202: Reply(ImportRunSchema, "A large file: queued as a job (`status` `importing`)."),
        },
        errors={
            404: ("unknown_import_run",),
            409: ("already_imported", "import_in_progress", "not_confirmable"),
            422: ("invalid", "import_rejected"),
        },
    ),
    Operation(
        "get",
        "/api/v1/imports",
        import_runs,
        "The import runs, oldest first",
        query=ImportListQuerySchema,
        replies={200: Reply(ImportRunPageSchema, "A page of runs, by id.")},
        errors={422: ("invalid",)},
    ),
    Operation(
        "get",
        "/api/v1/imports/<int:run_id>",
        import_run,
        "An import run: its counts and problems",
        versioned=True,
        replies={
            200: Reply(ImportRunSchema, "The run; its `ETag` is what a confirmation's `If-Match` sends.")
        },
        errors={404: ("unknown_import_run",)},
    ),
)
