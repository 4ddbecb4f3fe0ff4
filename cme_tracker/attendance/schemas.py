"""Validation of attendance records, as rows of an import file (and later the API)."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from typing import Any

from marshmallow import ValidationError, validates_schema

from cme_tracker.members.schemas import member_number_field
from cme_tracker.program.schemas import FIRST_YEAR, LAST_YEAR, lecture_code_field, symposium_code_field
from cme_tracker.tabular.cells import Choice, RowSchema, Text

METHODS = ("import", "qr", "search", "manual", "offline")
"""How an attendance was recorded: by an import, or by a desk's scan method."""

_ISO_DATETIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}.*")
_EXCEL_DATETIME = re.compile(
    r"([0-9]{4})/([0-9]{1,2})/([0-9]{1,2})[ T]([0-9]{1,2}):([0-9]{2})(?::([0-9]{2}))?"
)


class Instant(Text):
    """An ISO 8601 date and time. Without an offset it stays naive, to be read in the symposium's time zone.

    ``YYYY/M/D H:MM``, as Excel in Japan rewrites ISO times when it saves a CSV, is read too.
    """

    default_error_messages = {  # noqa: RUF012
        "instant": "not an ISO 8601 date and time (YYYY-MM-DDTHH:MM, optionally with an offset like +09:00)",
    }

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=40, **kwargs)

    def _deserialize(self, *args: Any, **kwargs: Any) -> datetime:  # type: ignore[override]
        text = unicodedata.normalize("NFKC", super()._deserialize(*args, **kwargs))
        try:
            moment = _parse_instant(text)
        except ValueError:
            raise self.make_error("instant") from None
        if moment is None or not FIRST_YEAR <= moment.year <= LAST_YEAR:
            raise self.make_error("instant")
        return moment


def _parse_instant(text: str) -> datetime | None:
    excel = _EXCEL_DATETIME.fullmatch(text)
    if excel is not None:
        year, month, day, hour, minute, second = (int(part) for part in excel.groups(default="0"))
        return datetime(year, month, day, hour, minute, second)  # noqa: DTZ001 (naive: zoned by the caller)
    if _ISO_DATETIME.fullmatch(text) is None:
        return None
    return datetime.fromisoformat(text)


class AttendanceSchema(RowSchema):
    """One attendance: a member at one lecture or at a whole symposium, from check-in to (maybe) check-out."""

    member_no = member_number_field(required=True)
    lecture_code = lecture_code_field()
    symposium_code = symposium_code_field()
    check_in_at = Instant(required=True)
    check_out_at = Instant()
    method = Choice(METHODS)

    @validates_schema(skip_on_field_errors=False, pass_original=True)
    def one_target(self, _data: dict[str, Any], original: dict[str, Any], **_kwargs: Any) -> None:
        """Exactly one of lecture_code (one lecture) and symposium_code (the whole day) is filled."""
        filled = [
            column for column in ("lecture_code", "symposium_code") if str(original.get(column) or "").strip()
        ]
        if len(filled) == 2:
            raise ValidationError(
                "fill lecture_code (one lecture) or symposium_code (the whole day), not both",
                "symposium_code",
            )
        if not filled:
            raise ValidationError(
                "required: lecture_code (one lecture) or symposium_code (the whole day)", "lecture_code"
            )
