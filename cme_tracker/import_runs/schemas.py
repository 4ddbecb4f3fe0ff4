"""The JSON of an import run, as the API answers it (and the OpenAPI document describes it). No Flask here."""

from __future__ import annotations

from marshmallow import fields, validate

from cme_tracker.dumps import Answer
from cme_tracker.import_runs.models import ImportKind, ImportRunStatus


class ImportCountsSchema(Answer):
    """Rows (or a program's symposia) the import adds, changes and leaves as they are."""

    added = fields.Integer()
    changed = fields.Integer()
    unchanged = fields.Integer()


class ImportProblemSchema(Answer):
    """One problem of the file, as ``cme-tracker import`` reports it."""

    line = fields.Integer(
        allow_none=True, metadata={"description": "Physical line (XLSX: row); null: the file."}
    )
    column = fields.String(allow_none=True, metadata={"description": "Header name; null: the whole row."})
    reason = fields.String()
    message = fields.String(metadata={"description": "`FILE:LINE:COLUMN: reason`, as the command prints it."})


class ImportRunSchema(Answer):
    """An uploaded import file and what its dry run found, or its import did."""

    id = fields.Integer()
    kind = fields.String(validate=validate.OneOf([kind.value for kind in ImportKind]))
    status = fields.String(
        validate=validate.OneOf([status.value for status in ImportRunStatus]),
        metadata={
            "description": "`checking` and `importing`: queued as a job (`job_id`); `dry_run_ok`: may be "
            "confirmed; `dry_run_failed`, `failed` (the import found problems): see `errors`."
        },
    )
    file_name = fields.String()
    size = fields.Integer()
    sha256 = fields.String()
    rows = fields.Nested(
        ImportCountsSchema,
        attribute="counts",
        metadata={"description": "Rows to add, change and leave unchanged (a program's: its lectures)."},
    )
    symposia = fields.Nested(
        ImportCountsSchema,
        attribute="symposium_counts",
        allow_none=True,
        metadata={"description": "A program's symposia; null for other kinds."},
    )
    error_count = fields.Integer()
    errors = fields.List(fields.Nested(ImportProblemSchema), metadata={"description": "In file order."})
    summary = fields.String(allow_none=True)
    uploaded_by = fields.String()
    uploaded_at = fields.DateTime()
    checked_at = fields.DateTime(allow_none=True)
    imported_by = fields.String(allow_none=True)
    imported_at = fields.DateTime(allow_none=True)
    job_id = fields.Integer(allow_none=True)
    version = fields.Integer(attribute="row_version", metadata={"description": "Also the answer's `ETag`."})


class ImportRunPageSchema(Answer):
    """A page of import runs, oldest first."""

    items = fields.List(fields.Nested(ImportRunSchema))
    next_cursor = fields.String(allow_none=True)
