"""The fields for text cells that the importers' schemas share: trimmed, bounded, normalised, one line.

Import files are typed by people in Excel, often with a Japanese input method, so every cell is text and each
field says in words what is wrong with it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

from marshmallow import Schema, fields, pre_load, validate

EMAIL_LENGTH = 254


def _has_control(text: str, allowed: str) -> bool:
    return any(unicodedata.category(char) == "Cc" and char not in allowed for char in text)


class Text(fields.String):
    """Free text from one cell: trimmed, bounded to its column's length, one line unless ``multiline``."""

    default_error_messages = {  # noqa: RUF012 (marshmallow declares it a plain class attribute)
        "required": "required (the cell is empty)",
        "null": "required (the cell is empty)",
        "invalid": "not text",
        "too_long": "longer than {max} characters",
        "multiline": "must fit on one line",
        "control": "contains a control character",
    }

    def __init__(self, *, max_length: int, multiline: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_length = max_length
        self.multiline = multiline

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> str:
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        if self.multiline:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        elif "\n" in text or "\r" in text:
            raise self.make_error("multiline")
        if _has_control(text, "\n" if self.multiline else ""):
            raise self.make_error("control")
        if len(text) > self.max_length:
            raise self.make_error("too_long", max=self.max_length)
        return self.clean(text)

    def clean(self, text: str) -> str:
        """Subclasses normalise and check the trimmed text here."""
        return text


class Code(Text):
    """An identifier (member number, registry number, code): text, never a number, in ASCII after NFKC.

    Full-width digits typed with a Japanese input method become ASCII; leading zeros stay.
    """

    default_error_messages = {"pattern": "{reason}"}  # noqa: RUF012

    def __init__(self, *, pattern: str, reason: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pattern = re.compile(pattern)
        self.reason = reason

    def clean(self, text: str) -> str:
        text = unicodedata.normalize("NFKC", text)
        if not self.pattern.fullmatch(text):
            raise self.make_error("pattern", reason=self.reason)
        return text


class Choice(Text):
    """One word of a closed set, compared in lower case."""

    default_error_messages = {"choice": "{value!r} is not one of {choices}"}  # noqa: RUF012

    def __init__(self, choices: Iterable[str], **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 64)
        super().__init__(**kwargs)
        self.choices = tuple(choices)

    def clean(self, text: str) -> str:
        word = unicodedata.normalize("NFKC", text).lower()
        if word not in self.choices:
            raise self.make_error("choice", value=text, choices=", ".join(self.choices))
        return word


class Email(fields.Email):
    default_error_messages = {  # noqa: RUF012
        "required": "required (the cell is empty)",
        "invalid": "not a valid email address",
    }

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            validate=validate.Length(max=EMAIL_LENGTH, error="longer than {max} characters"), **kwargs
        )


class RowSchema(Schema):
    """Base of schemas that load one row of text cells: an empty cell is a missing value."""

    @pre_load
    def drop_empty_cells(self, data: Any, **_kwargs: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        return {
            key: value for key, value in data.items() if not (isinstance(value, str) and not value.strip())
        }
