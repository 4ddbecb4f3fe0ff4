"""A member's credits as JSON, the one shape of ``credits show --json`` and the API's credits answer.

Amounts are decimal strings, so no float rounds them. No Flask here, so that the CLI may dump with it too.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, post_dump

from cme_tracker.credits.engine import FIELDS, PolicyCredits
from cme_tracker.credits.services import MemberCredits, format_amount
from cme_tracker.vocabulary import YearBasis


class PolicyCreditsSchema(Schema):
    """Credits under one policy version: amounts as decimal strings, all five fields, codes if it has any."""

    version = fields.String()
    total = fields.Function(lambda credits: format_amount(credits.total))
    by_field = fields.Method("_by_field")
    codes = fields.List(fields.String())

    def _by_field(self, credits: PolicyCredits) -> dict[str, str]:
        return {field.value: format_amount(credits.by_field[field]) for field in FIELDS}

    @post_dump
    def _without_absent_codes(self, data: dict[str, Any], **_kwargs: Any) -> dict[str, Any]:
        """A policy that earns no scheme codes has no ``codes`` key (an empty list means none earned)."""
        if data["codes"] is None:
            del data["codes"]
        return data


class MemberCreditsSchema(Schema):
    """The shape of ``credits show --json`` and ``GET /api/v1/members/{member_no}/credits``."""

    member_no = fields.String()
    year = fields.Integer()
    year_basis = fields.Enum(YearBasis, by_value=True, attribute="basis")
    policies = fields.Dict(keys=fields.String(), values=fields.Nested(PolicyCreditsSchema))


# Schemas hold no state between dumps, and building one costs more than a dump.
_MEMBER_CREDITS = MemberCreditsSchema()


def member_credits_json(credits: MemberCredits) -> dict[str, Any]:
    dumped: dict[str, Any] = _MEMBER_CREDITS.dump(credits)
    return dumped
