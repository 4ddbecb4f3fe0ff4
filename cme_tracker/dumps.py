"""The conventions every JSON answer is dumped with: the base schema, local times and credit amounts.

The API's answers (api/responses.py), a member's credits (credits/schemas.py) and a verification
(documents/schemas.py) share them, and the OpenAPI document is generated from those schemas. Times are
ISO 8601: instants in UTC, and local times (``*_local``, a lecture's start and end) in the symposium's zone;
labels are in the request's language. Both reach a dump through :data:`CONTEXT`. No Flask here, so that the
CLI may dump with these schemas too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from marshmallow import Schema, fields
from marshmallow.experimental.context import Context

from cme_tracker.amounts import format_amount


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
AMOUNT_METADATA = {"pattern": AMOUNT_PATTERN, "examples": ["1.5"]}


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
        super().__init__(metadata=AMOUNT_METADATA, **kwargs)

    def _serialize(self, value: Decimal | None, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else format_amount(value)


def frozen_amount() -> fields.String:
    """An amount frozen in a certificate's content, already a decimal string."""
    return fields.String(metadata=AMOUNT_METADATA)
