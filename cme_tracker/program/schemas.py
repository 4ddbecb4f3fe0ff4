"""Validation of the program: symposia and their lectures, as rows of an import file, and as the office's
pages and API edit them. One set of fields and checks serves all three."""

from __future__ import annotations

import re
import unicodedata
import zoneinfo
from datetime import date, time
from functools import cache
from typing import Any

from marshmallow import ValidationError, validates_schema

from cme_tracker.society import SOCIETY_ZONE_NAME
from cme_tracker.tabular.cells import Choice, Code, RowSchema, Text
from cme_tracker.vocabulary import CmeField, SymposiumKind

SYMPOSIUM_CODE = r"[0-9]{4}(?:-[A-Za-z0-9]+)+"
"""A year and labels separated by ``-``: ``2026-11``, ``2026-10-TA``."""
LECTURE_SUFFIX = r"[A-Za-z0-9]+"
"""What follows ``SYMPOSIUM_CODE-`` in a lecture code: ``2026-11-L3``."""
FIRST_YEAR, LAST_YEAR = 1900, 2199

_DATE = re.compile(r"([0-9]{4})[-/]([0-9]{1,2})[-/]([0-9]{1,2})")
_HOUR_MINUTE = re.compile(r"([0-9]{1,2}):([0-9]{2})(?::00)?")


@cache
def known_timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


class Day(Text):
    """A date as ``YYYY-MM-DD``; ``YYYY/M/D``, as Excel in Japan writes dates, is read too."""

    default_error_messages = {"date": "not a date (YYYY-MM-DD)"}  # noqa: RUF012

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=32, **kwargs)

    def _deserialize(self, *args: Any, **kwargs: Any) -> date:  # type: ignore[override]
        return parse_day(super()._deserialize(*args, **kwargs), self)


def parse_day(text: str, field: Text) -> date:
    match = _DATE.fullmatch(unicodedata.normalize("NFKC", text))
    if match is None:
        raise field.make_error("date")
    try:
        day = date(*(int(part) for part in match.groups()))
    except ValueError:
        raise field.make_error("date") from None
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise field.make_error("date")
    return day


class HourMinute(Text):
    """A time of day as ``HH:MM`` (``H:MM`` and ``HH:MM:00`` too, as Excel may write them)."""

    default_error_messages = {"time": "not a time of day (HH:MM)"}  # noqa: RUF012

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=16, **kwargs)

    def _deserialize(self, *args: Any, **kwargs: Any) -> time:  # type: ignore[override]
        parsed = parse_hour_minute(super()._deserialize(*args, **kwargs))
        if parsed is None:
            raise self.make_error("time")
        return parsed


def parse_hour_minute(text: str) -> time | None:
    match = _HOUR_MINUTE.fullmatch(unicodedata.normalize("NFKC", text).strip())
    if match is None:
        return None
    hours, minutes = (int(part) for part in match.groups())
    if hours > 23 or minutes > 59:
        return None
    return time(hours, minutes)


class Intervals(Text):
    """Excluded intervals, ``HH:MM-HH:MM`` separated by ``;``: each ends after it starts, none overlap."""

    default_error_messages = {  # noqa: RUF012
        "format": "{part!r} is not HH:MM-HH:MM (intervals are separated by ';')",
        "order": "{part!r} ends before it starts",
        "overlap": "{part!r} overlaps {other!r}",
    }

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=500, **kwargs)

    def _deserialize(self, *args: Any, **kwargs: Any) -> list[tuple[time, time]]:  # type: ignore[override]
        text = unicodedata.normalize("NFKC", super()._deserialize(*args, **kwargs))
        intervals: list[tuple[time, time]] = []
        labels: list[str] = []
        for part in (piece.strip() for piece in text.split(";")):
            if not part:
                continue
            start_text, dash, end_text = part.partition("-")
            start, end = parse_hour_minute(start_text), parse_hour_minute(end_text)
            if not dash or start is None or end is None:
                raise self.make_error("format", part=part)
            if end <= start:
                raise self.make_error("order", part=part)
            for (other_start, other_end), label in zip(intervals, labels, strict=True):
                if start < other_end and other_start < end:
                    raise self.make_error("overlap", part=part, other=label)
            intervals.append((start, end))
            labels.append(part)
        return sorted(intervals)


class TimeZoneName(Text):
    default_error_messages = {"zone": "{value!r} is not an IANA time zone (e.g. Asia/Tokyo, Europe/Berlin)"}  # noqa: RUF012

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=64, **kwargs)

    def clean(self, text: str) -> str:
        if text not in known_timezones():
            raise self.make_error("zone", value=text)
        return text


class CurriculumCode(Text):
    """A JMA curriculum code, 1 to 84, kept as text without leading zeros (``08`` is ``8``)."""

    default_error_messages = {"cc": "a JMA curriculum code is a number from 1 to 84"}  # noqa: RUF012

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=8, **kwargs)

    def clean(self, text: str) -> str:
        digits = unicodedata.normalize("NFKC", text)
        if not re.fullmatch(r"[0-9]{1,2}", digits) or not 1 <= int(digits) <= 84:
            raise self.make_error("cc")
        return str(int(digits))


def symposium_code_field(**kwargs: Any) -> Code:
    return Code(
        max_length=32,
        pattern=SYMPOSIUM_CODE,
        reason="a symposium code is a year, '-' and labels of letters and digits, e.g. 2026-11",
        **kwargs,
    )


def lecture_code_field(**kwargs: Any) -> Code:
    return Code(
        max_length=40,
        pattern=rf"{SYMPOSIUM_CODE}-{LECTURE_SUFFIX}",
        reason="a lecture code is its symposium's code, '-' and a label, e.g. 2026-11-L3",
        **kwargs,
    )


def symposium_kind_field(**kwargs: Any) -> Choice:
    return Choice([kind.value for kind in SymposiumKind], **kwargs)


def cme_field_field(**kwargs: Any) -> Choice:
    return Choice([cme_field.value for cme_field in CmeField], **kwargs)


def language_field(**kwargs: Any) -> Code:
    return Code(
        max_length=16,
        pattern=r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*",
        reason="a language is a code such as ja, en or de",
        **kwargs,
    )


def jda_code_field(**kwargs: Any) -> Code:
    return Code(
        max_length=16,
        pattern=r"[A-Za-z0-9][A-Za-z0-9-]*",
        reason="a JDA code has letters, digits, '-' only",
        **kwargs,
    )


def lecture_code_problem(symposium_code: str, lecture_code: str) -> str | None:
    """Why ``lecture_code`` cannot be a lecture of ``symposium_code``, or None."""
    if lecture_code.startswith(f"{symposium_code}-"):
        return None
    return f"a lecture of symposium {symposium_code} has a code starting {symposium_code}-"


def lecture_time_problems(data: dict[str, Any], excluded_key: str = "excluded") -> dict[str, list[str]]:
    """The lecture ends after it starts and holds its excluded intervals: the problems, by field."""
    starts, ends = data.get("starts_at"), data.get("ends_at")
    if starts is None or ends is None:
        return {}
    if ends <= starts:
        return {"ends_at": ["the lecture must end after it starts"]}
    outside = [
        f"{start:%H:%M}-{end:%H:%M}"
        for start, end in data.get(excluded_key, [])
        if start < starts or end > ends
    ]
    if outside:
        return {excluded_key: [f"{', '.join(outside)} is outside the lecture ({starts:%H:%M}-{ends:%H:%M})"]}
    return {}


class SymposiumSchema(RowSchema):
    """A symposium as the office edits it (pages and API): the importer's fields under their own names."""

    code = symposium_code_field(required=True)
    date = Day(required=True)
    timezone = TimeZoneName(load_default=SOCIETY_ZONE_NAME)
    title_ja = Text(required=True, max_length=300, multiline=True)
    title_en = Text(required=True, max_length=300, multiline=True)
    venue = Text(max_length=300, multiline=True)
    kind = symposium_kind_field(load_default=SymposiumKind.REGULAR.value)


class LectureSchema(RowSchema):
    """A lecture as the office edits it: times are ``HH:MM`` in its symposium's zone, as in a program file."""

    code = lecture_code_field(required=True)
    starts_at = HourMinute(required=True)
    ends_at = HourMinute(required=True)
    field = cme_field_field(required=True)
    title_ja = Text(required=True, max_length=500, multiline=True)
    title_en = Text(max_length=500, multiline=True)
    speaker = Text(required=True, max_length=300)
    speaker_affiliation = Text(max_length=300, multiline=True)
    language = language_field()
    jma_cc = CurriculumCode()
    jda_code = jda_code_field()
    excluded = Intervals()

    @validates_schema(skip_on_field_errors=False)
    def lecture_fits(self, data: dict[str, Any], **_kwargs: Any) -> None:
        errors = lecture_time_problems(data)
        if errors:
            raise ValidationError(errors)


class ProgramRowSchema(RowSchema):
    """One row of a program file: a lecture, with the symposium it belongs to repeated on every row."""

    symposium_code = symposium_code_field(required=True)
    symposium_date = Day(required=True)
    symposium_title_ja = Text(required=True, max_length=300, multiline=True)
    symposium_title_en = Text(required=True, max_length=300, multiline=True)
    symposium_kind = symposium_kind_field()
    venue = Text(max_length=300, multiline=True)
    timezone = TimeZoneName()
    lecture_code = lecture_code_field(required=True)
    starts_at = HourMinute(required=True)
    ends_at = HourMinute(required=True)
    field = cme_field_field(required=True)
    title_ja = Text(required=True, max_length=500, multiline=True)
    title_en = Text(max_length=500, multiline=True)
    speaker = Text(required=True, max_length=300)
    speaker_affiliation = Text(max_length=300, multiline=True)
    language = language_field()
    jma_cc = CurriculumCode()
    jda_code = jda_code_field()
    excluded = Intervals()

    @validates_schema(skip_on_field_errors=False)
    def lecture_fits(self, data: dict[str, Any], **_kwargs: Any) -> None:
        """The lecture is in the row's symposium, ends after it starts and holds its excluded intervals."""
        errors: dict[str, list[str]] = {}
        symposium, lecture = data.get("symposium_code"), data.get("lecture_code")
        problem = lecture_code_problem(symposium, lecture) if symposium and lecture else None
        if problem:
            errors["lecture_code"] = [problem]
        errors |= lecture_time_problems(data)
        if errors:
            raise ValidationError(errors)
