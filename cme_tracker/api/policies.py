"""The API of the credit policies, for the office's scripts: every policy with its versions and parameters,
a new version (or its dry run, a preview of what it changes in a year), the preview of a stored version, and
enabling or disabling a version (``If-Match``).

The same services as the office's policy pages (:mod:`cme_tracker.credits.versions`). A preview's members
come a page at a time, by member number.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import jsonify, request
from flask.typing import ResponseReturnValue
from marshmallow import fields, validate

from cme_tracker.accounts.authentication import current_actor
from cme_tracker.amounts import format_amount
from cme_tracker.api.blueprint import blueprint, json_body, load
from cme_tracker.api.operations import Operation, Reply
from cme_tracker.api.pages import PageQuerySchema, encode_cursor
from cme_tracker.api.schemas import ApiSchema
from cme_tracker.api.versions import expected_version, tagged
from cme_tracker.credits.models import CreditPolicyVersion
from cme_tracker.credits.versions import (
    PolicyPreview,
    add_version,
    candidate_policy,
    get_version,
    policy_of,
    policy_versions,
    preview_version,
    require_policy,
    set_enabled,
)
from cme_tracker.db import begin_write
from cme_tracker.dumps import AMOUNT_METADATA, Answer
from cme_tracker.society import FIRST_REPORT_YEAR, LAST_REPORT_YEAR, society_today, year_of
from cme_tracker.tabular.cells import Choice, Text
from cme_tracker.vocabulary import Role, YearBasis
from cme_tracker.web.security import roles_required
from cme_tracker.web.session import db_session

SOCIETY_POLICY = "imsj"
SIGNED_AMOUNT = {"pattern": r"^-?[0-9]+(\.[0-9]+)?$", "examples": ["-0.5"]}
_REQUIRED: dict[str, Any] = {"required": "required", "null": "required"}


class PolicyVersionSchema(Answer):
    """One stored version: its parameters as the credit rules read them, and its edit version."""

    code = fields.String()
    version = fields.String()
    effective_from = fields.Date()
    enabled = fields.Boolean()
    in_force = fields.Boolean(metadata={"description": "The version in force today (enabled and latest)."})
    row_version = fields.Integer(metadata={"description": "Its ETag: send it back as If-Match to edit it."})
    parameters = fields.Dict(
        metadata={"description": "minutes_per_unit, unit_value, caps, ... as credits.md describes them."}
    )


class PolicySchema(Answer):
    code = fields.String()
    name_ja = fields.String()
    name_en = fields.String()
    society_own = fields.Boolean(
        metadata={"description": "false: a preset modelled on another scheme, to be confirmed by an officer."}
    )
    versions = fields.List(fields.Nested(PolicyVersionSchema), metadata={"description": "Newest first."})


class PolicyListSchema(Answer):
    items = fields.List(fields.Nested(PolicySchema))


class PreviewLineSchema(Answer):
    member_no = fields.String()
    name = fields.String()
    old_total = fields.String(
        allow_none=True, metadata={**AMOUNT_METADATA, "description": "null: the policy did not apply."}
    )
    new_total = fields.String(allow_none=True, metadata=AMOUNT_METADATA)
    difference = fields.String(metadata=SIGNED_AMOUNT)


class DifferenceCountSchema(Answer):
    difference = fields.String(metadata=SIGNED_AMOUNT)
    members = fields.Integer()


class PreviewSchema(Answer):
    """What a version changes in a year's totals of its policy, against the version in force for the year."""

    code = fields.String()
    year = fields.Integer()
    basis = fields.String(validate=validate.OneOf(list(YearBasis)))
    current_version = fields.String(allow_none=True)
    candidate_version = fields.String()
    effective_from = fields.Date()
    applies_to_year = fields.Boolean(
        metadata={"description": "false: effective after the year's end, so saving it leaves the year as is."}
    )
    members_computed = fields.Integer()
    changed = fields.Integer()
    increase = fields.String(metadata=SIGNED_AMOUNT)
    decrease = fields.String(metadata=SIGNED_AMOUNT)
    net = fields.String(metadata=SIGNED_AMOUNT)
    distribution = fields.List(fields.Nested(DifferenceCountSchema))
    items = fields.List(fields.Nested(PreviewLineSchema), metadata={"description": "By member number."})
    next_cursor = fields.String(allow_none=True)


class PreviewQuerySchema(PageQuerySchema):
    """The preview's year and a page of its members (``cursor``: ``next_cursor`` of the page before)."""

    year = fields.Integer(validate=validate.Range(FIRST_REPORT_YEAR, LAST_REPORT_YEAR))
    basis = Choice(tuple(YearBasis), load_default=YearBasis.CALENDAR.value)


class PreviewPageQuerySchema(PageQuerySchema):
    """A page of a dry run's members."""


class NewVersionSchema(ApiSchema):
    """``POST /api/v1/policies/{code}/versions``."""

    version = Text(max_length=32, required=True, error_messages=_REQUIRED)
    effective_from = fields.Date(required=True, error_messages=_REQUIRED)
    enabled = fields.Boolean(load_default=True)
    parameters = fields.Dict(
        required=True,
        error_messages=_REQUIRED,
        metadata={"description": "Every parameter of the policy, as GET /api/v1/policies shows them."},
    )
    dry_run = fields.Boolean(
        load_default=False, metadata={"description": "true: save nothing, answer the preview of `year`."}
    )
    year = fields.Integer(
        validate=validate.Range(FIRST_REPORT_YEAR, LAST_REPORT_YEAR),
        metadata={"description": "The preview's year; default: the year of effective_from."},
    )
    basis = Choice(tuple(YearBasis), load_default=YearBasis.CALENDAR.value)


_VERSION = PolicyVersionSchema()
_POLICIES = PolicyListSchema()
_PREVIEW = PreviewSchema()
_NEW_VERSION = NewVersionSchema()
_PREVIEW_QUERY = PreviewQuerySchema()
_PREVIEW_PAGE_QUERY = PreviewPageQuerySchema()


def _signed(amount: Any) -> str:
    return f"-{format_amount(-amount)}" if amount < 0 else format_amount(amount)


def _version_values(row: CreditPolicyVersion, in_force: bool) -> dict[str, Any]:
    return {
        "code": row.code,
        "version": row.version,
        "effective_from": row.effective_from,
        "enabled": row.enabled,
        "in_force": in_force,
        "row_version": row.row_version,
        "parameters": row.parameters,
    }


def version_json(row: CreditPolicyVersion, in_force: bool) -> dict[str, Any]:
    dumped: dict[str, Any] = _VERSION.dump(_version_values(row, in_force))
    return dumped


def preview_json(preview: PolicyPreview, cursor: str | None, limit: int) -> dict[str, Any]:
    lines = [line for line in preview.lines if cursor is None or line.member_no > cursor]
    page, more = lines[:limit], len(lines) > limit
    dumped: dict[str, Any] = _PREVIEW.dump(
        {
            "code": preview.code,
            "year": preview.year,
            "basis": preview.basis.value,
            "current_version": preview.current_version,
            "candidate_version": preview.candidate_version,
            "effective_from": preview.effective_from,
            "applies_to_year": preview.applies_to_year,
            "members_computed": preview.members_computed,
            "changed": preview.changed,
            "increase": _signed(preview.increase),
            "decrease": _signed(preview.decrease),
            "net": _signed(preview.net),
            "distribution": [
                {"difference": _signed(difference), "members": count}
                for difference, count in preview.distribution
            ],
            "items": [
                {
                    "member_no": line.member_no,
                    "name": line.name,
                    "old_total": None if line.old is None else format_amount(line.old),
                    "new_total": None if line.new is None else format_amount(line.new),
                    "difference": _signed(line.difference),
                }
                for line in page
            ],
            "next_cursor": encode_cursor(page[-1].member_no) if more else None,
        }
    )
    return dumped


def _page_cursor(query: dict[str, Any]) -> str | None:
    cursor = query.get("cursor")
    return None if cursor is None else str(cursor)


@blueprint.get("/policies")
@roles_required(Role.ADMIN, api_clients=True)
def policies() -> ResponseReturnValue:
    """Every policy, in the order installed, with its versions newest first."""
    listed = policy_versions(db_session(), society_today())
    items = []
    for entry in listed:
        latest = policy_of(entry.latest)
        items.append(
            {
                "code": entry.code,
                "name_ja": latest.name_ja,
                "name_en": latest.name_en,
                "society_own": entry.code == SOCIETY_POLICY,
                "versions": [_version_values(row, row is entry.in_force) for row in entry.versions],
            }
        )
    return jsonify(_POLICIES.dump({"items": items}))


@blueprint.post("/policies/<code>/versions")
@roles_required(Role.ADMIN, api_clients=True)
def new_version(code: str) -> ResponseReturnValue:
    """A new version effective from a date (201), or with ``dry_run`` its preview on a year (200)."""
    body = load(_NEW_VERSION, json_body())
    query = load(_PREVIEW_PAGE_QUERY, request.args.to_dict())
    session = db_session()
    effective_from: date = body["effective_from"]
    if body["dry_run"]:
        require_policy(session, code)
        candidate = candidate_policy(code, body["version"], effective_from, body["parameters"])
        basis = YearBasis(body["basis"])
        year = body.get("year") or year_of(effective_from, basis)
        preview = preview_version(session, candidate, year, basis)
        return jsonify(preview_json(preview, _page_cursor(query), query["limit"]))
    begin_write(session)
    row = add_version(
        session,
        code,
        body["version"],
        effective_from,
        body["parameters"],
        enabled=body["enabled"],
        actor=current_actor().name,
    )
    session.commit()
    in_force = row.enabled and row.effective_from <= society_today()
    return tagged(jsonify(version_json(row, in_force)), row.row_version), 201


@blueprint.post("/policies/<code>/versions/<version>/preview")
@roles_required(Role.ADMIN, api_clients=True)
def preview(code: str, version: str) -> ResponseReturnValue:
    """What a stored version changes in a year, against the version in force for it (a disabled or future
    version, say, before enabling it)."""
    query = load(_PREVIEW_QUERY, request.args.to_dict())
    session = db_session()
    row = get_version(session, code, version)
    basis = YearBasis(query["basis"])
    year = query.get("year") or year_of(row.effective_from, basis)
    result = preview_version(session, policy_of(row), year, basis)
    return jsonify(preview_json(result, _page_cursor(query), query["limit"]))


def _toggle(code: str, version: str, *, enabled: bool) -> ResponseReturnValue:
    expected = expected_version()
    session = db_session()
    begin_write(session)
    row = set_enabled(
        session, code, version, enabled=enabled, expected_version=expected, actor=current_actor().name
    )
    session.commit()
    in_force = any(
        entry.in_force is row for entry in policy_versions(session, society_today()) if entry.code == code
    )
    return tagged(jsonify(version_json(row, in_force)), row.row_version)


@blueprint.post("/policies/<code>/versions/<version>/enable")
@roles_required(Role.ADMIN, api_clients=True)
def enable(code: str, version: str) -> ResponseReturnValue:
    """Enable a version (an enabled one stays as it is)."""
    return _toggle(code, version, enabled=True)


@blueprint.post("/policies/<code>/versions/<version>/disable")
@roles_required(Role.ADMIN, api_clients=True)
def disable(code: str, version: str) -> ResponseReturnValue:
    """Disable a version: disabling the one in force disables the scheme from its effective date on."""
    return _toggle(code, version, enabled=False)


_PREVIEW_ERRORS = {404: ("unknown_policy", "unknown_policy_version"), 422: ("invalid",)}

OPERATIONS = (
    Operation(
        "get",
        "/api/v1/policies",
        policies,
        "Every credit policy with its versions and parameters",
        replies={200: Reply(PolicyListSchema, "In the order installed (imsj first); versions newest first.")},
    ),
    Operation(
        "post",
        "/api/v1/policies/<code>/versions",
        new_version,
        "Add a version of a policy, or preview it (dry_run)",
        description="The parameters are read by the same rules as the presets (422 `invalid_policy`, naming "
        "the parameter). A year is computed with the versions in force on its last day. With `dry_run`, "
        "nothing is saved and the answer is the preview of `year`: the members whose totals change, a page "
        "at a time (`cursor`, `limit` in the query).",
        body=NewVersionSchema,
        query=PreviewPageQuerySchema,
        replies={
            201: Reply(PolicyVersionSchema, "Saved and audited; its ETag is its row_version."),
            200: Reply(PreviewSchema, "The dry run's preview."),
        },
        errors={404: ("unknown_policy",), 409: ("version_exists",), 422: ("invalid", "invalid_policy")},
    ),
    Operation(
        "post",
        "/api/v1/policies/<code>/versions/<version>/preview",
        preview,
        "Preview what a stored version changes in a year",
        description="Against the version in force for the year; default year: that of the version's "
        "effective date.",
        query=PreviewQuerySchema,
        replies={200: Reply(PreviewSchema, "The members whose totals change, a page at a time.")},
        errors=_PREVIEW_ERRORS,
    ),
    Operation(
        "post",
        "/api/v1/policies/<code>/versions/<version>/enable",
        enable,
        "Enable a policy version",
        replies={200: Reply(PolicyVersionSchema, "Enabled (and audited, unless it already was).")},
        errors={404: ("unknown_policy_version",)},
        versioned=True,
    ),
    Operation(
        "post",
        "/api/v1/policies/<code>/versions/<version>/disable",
        disable,
        "Disable a policy version",
        replies={200: Reply(PolicyVersionSchema, "Disabled (and audited, unless it already was).")},
        errors={404: ("unknown_policy_version",)},
        versioned=True,
    ),
)
