"""A member's credits as JSON, the one shape of ``credits show --json`` and the API's credits answer.

Amounts are decimal strings, so no float rounds them. No Flask here, so that the CLI may dump with it too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from marshmallow import fields, post_dump

from cme_tracker.credits.engine import FIELDS
from cme_tracker.dumps import Amount, Answer
from cme_tracker.vocabulary import YearBasis

if TYPE_CHECKING:
    from cme_tracker.credits.services import MemberCredits


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


# Schemas hold no state between dumps, and building one costs more than a dump.
_MEMBER_CREDITS = MemberCreditsSchema()


def member_credits_json(credits: MemberCredits) -> dict[str, Any]:
    dumped: dict[str, Any] = _MEMBER_CREDITS.dump(credits)
    return dumped
