"""Request hygiene for every route: hostile input is refused with a 4xx before any view or database sees it.

A body over the configured limit answers 413; a NUL byte or a lone surrogate in the path, the query, a form
field, an uploaded file's name or a JSON string answers 400 (PostgreSQL refuses NUL in text, and a lone
surrogate cannot be encoded, so either would otherwise end as a 500 deep inside a write); JSON nested deeper
than :data:`MAX_JSON_DEPTH` answers 400 instead of exhausting the parser's recursion; an ``<int:...>`` in a
path beyond an INTEGER column is no page (404) rather than an overflow.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from flask import Flask, request
from flask.json.provider import DefaultJSONProvider
from flask_babel import gettext
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge
from werkzeug.routing import IntegerConverter, Map

from cme_tracker.config import Settings

MAX_JSON_DEPTH = 32
"""Nesting of arrays and objects a JSON body may have; no request of the app needs more than three."""

MAX_PATH_INTEGER = 2**31 - 1
"""The largest ``<int:...>`` a URL may carry: what an INTEGER column holds (32 bits on PostgreSQL); a larger
one is no page (404)."""

_UNSAFE = re.compile("[\x00\ud800-\udfff]")
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class RefusedInput(BadRequest):
    """A request this module refuses: its JSON answers carry the code ``refused_input``."""

    name = "Refused Input"


class TooLarge(RequestEntityTooLarge):
    """A body over the limit: its JSON answers carry the code ``too_large``."""

    name = "Too Large"


def _refuse_text() -> RefusedInput:
    return RefusedInput(
        gettext("The request contains a NUL byte or an invalid character (a lone surrogate).")
    )


def _too_deep() -> RefusedInput:
    return RefusedInput(
        gettext("The JSON body is nested too deeply (at most %(depth)d levels).", depth=MAX_JSON_DEPTH)
    )


def _check_texts(values: Iterable[str | None]) -> None:
    for value in values:
        # werkzeug names a multipart part None when it cannot read the name (a control character in it)
        if value is None or _UNSAFE.search(value):
            raise _refuse_text()


def _check_fields(fields: MultiDict[str, Any]) -> None:
    for name, value in fields.items(multi=True):
        _check_texts((name,))
        if isinstance(value, str):
            _check_texts((value,))


def _check_json(value: Any) -> None:
    """Walk the parsed value without recursion: depth within the limit, every key and string clean."""
    pending: list[tuple[Any, int]] = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, str):
            _check_texts((item,))
        elif isinstance(item, (dict, list)):
            if depth >= MAX_JSON_DEPTH:
                raise _too_deep()
            if isinstance(item, dict):
                _check_texts(item.keys())
                pending.extend((child, depth + 1) for child in item.values())
            else:
                pending.extend((child, depth + 1) for child in item)


class CheckedJSONProvider(DefaultJSONProvider):
    """The app's JSON: what :meth:`Request.get_json` parses is checked, and a refusal raises a 400 even for
    ``silent=True`` callers (Flask hands the request the app's provider)."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            value = super().loads(s, **kwargs)
        except RecursionError:
            raise _too_deep() from None
        _check_json(value)
        return value


class BoundedIntegerConverter(IntegerConverter):
    """``<int:...>`` within :data:`MAX_PATH_INTEGER`, so that no id overflows the driver's integer."""

    def __init__(
        self,
        map: Map,
        fixed_digits: int = 0,
        min: int | None = None,
        max: int | None = MAX_PATH_INTEGER,
        signed: bool = False,
    ) -> None:
        super().__init__(map, fixed_digits, min, max, signed)


def _check_request() -> None:
    limit = request.max_content_length
    if limit is not None and request.content_length is not None and request.content_length > limit:
        raise TooLarge(gettext("The request is too large (at most %(size)s bytes).", size=f"{limit:,}"))
    _check_texts((request.path,))
    _check_fields(request.args)
    if request.method in _BODY_METHODS and request.mimetype in _FORM_TYPES:
        _check_fields(request.form)
        _check_texts(request.files.keys())
        _check_texts(upload.filename or "" for upload in request.files.values())


def init_app(app: Flask, settings: Settings) -> None:
    """Called first of the web machinery, so that no other hook reads a request that fails these checks."""
    app.config["MAX_CONTENT_LENGTH"] = settings.max_request_bytes
    app.json = CheckedJSONProvider(app)
    app.url_map.converters["int"] = BoundedIntegerConverter
    app.before_request(_check_request)
