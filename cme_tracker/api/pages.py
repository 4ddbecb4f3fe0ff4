"""Cursor pagination of the API's lists: a stable order on one unique column, and an opaque cursor naming the
last key a page held, so a list read page by page misses and repeats nothing while rows are added.

A list answers ``{"items": [...], "next_cursor": "..." | null}``; the client sends ``cursor`` back for the
next page, and ``limit`` (1–200, default 50) for its size.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from marshmallow import ValidationError, fields, validate
from sqlalchemy import Select
from sqlalchemy.orm import InstrumentedAttribute, Session

from cme_tracker.api.schemas import ApiSchema
from cme_tracker.errors import DomainError

Row = TypeVar("Row")
DEFAULT_LIMIT = 50
MAX_LIMIT = 200
MAX_CURSOR = 400


class Cursor(fields.String):
    """The opaque cursor: base64url of the JSON list ``[last_key]``, at most :data:`MAX_CURSOR` characters;
    anything else is refused. (The length is checked here: a validator would see the decoded key, maybe an
    integer.)"""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        text = super()._deserialize(value, attr, data, **kwargs)
        if len(text) > MAX_CURSOR:
            raise ValidationError(f"longer than {MAX_CURSOR} characters")
        try:
            decoded = json.loads(base64.urlsafe_b64decode(text.encode("ascii") + b"=="))
        except (ValueError, binascii.Error, UnicodeError):
            raise ValidationError("not a cursor of this list") from None
        if not (isinstance(decoded, list) and len(decoded) == 1 and isinstance(decoded[0], str | int)):
            raise ValidationError("not a cursor of this list")
        if isinstance(decoded[0], int) and not -(2**63) < decoded[0] < 2**63:
            raise ValidationError("not a cursor of this list")
        return decoded[0]


class PageQuerySchema(ApiSchema):
    """``cursor`` and ``limit``; a list's own query schema extends it with its filters."""

    cursor = Cursor(metadata={"description": "`next_cursor` of the page before.", "maxLength": MAX_CURSOR})
    limit = fields.Integer(
        load_default=DEFAULT_LIMIT,
        validate=validate.Range(1, MAX_LIMIT),
        metadata={"description": f"Items a page, 1–{MAX_LIMIT}."},
    )


@dataclass(frozen=True)
class Page(Generic[Row]):
    items: Sequence[Row]
    next_cursor: str | None


def encode_cursor(key: str | int) -> str:
    return base64.urlsafe_b64encode(json.dumps([key]).encode()).decode("ascii").rstrip("=")


def keyset_page(
    session: Session,
    statement: Select[Row],
    key: InstrumentedAttribute[Any],
    *,
    cursor: str | int | None,
    limit: int,
    descending: bool = False,
) -> Page[Row]:
    """One page of ``statement``'s rows ordered by the unique column ``key`` (newest first with
    ``descending``), after ``cursor``."""
    if cursor is not None:
        if not isinstance(cursor, key.type.python_type):
            raise DomainError(
                "the cursor is not one of this list", code="invalid", details={"cursor": ["not of this list"]}
            )
        statement = statement.where(key < cursor if descending else key > cursor)
    rows = session.scalars(statement.order_by(key.desc() if descending else key).limit(limit + 1)).all()
    items = rows[:limit]
    more = len(rows) > limit
    return Page(items, encode_cursor(getattr(items[-1], key.key)) if more else None)
