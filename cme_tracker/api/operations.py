"""How an API module describes its operations for the OpenAPI document (api/openapi.py gathers them).

Each API module keeps an ``OPERATIONS`` tuple beside its views: method, path, view, summary, request schema,
answers by status and the error codes it may return. The roles come from the views' own declarations.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from flask.typing import ResponseReturnValue
from marshmallow import Schema

from cme_tracker.api.schemas import ApiSchema


@dataclass(frozen=True)
class Reply:
    """A successful answer: its schema (None: any JSON object) and when it is given."""

    schema: type[Schema] | None
    description: str


@dataclass(frozen=True)
class Operation:
    """One operation of the document. ``path`` is the view's rule (``<int:id>`` types its parameter);
    ``errors`` are the codes each error status may carry, besides those every operation of its kind has.
    ``versioned``: an edit that needs ``If-Match`` (412, 428), or a read that answers an ``ETag``.
    ``files``: the media types of a body that is a file (also accepted as the ``file`` part of a
    ``multipart/form-data`` body), instead of a JSON ``body``."""

    method: str
    path: str
    view: Callable[..., ResponseReturnValue]
    summary: str
    replies: Mapping[int, Reply]
    errors: Mapping[int, tuple[str, ...]] = field(default_factory=dict)
    body: type[ApiSchema] | None = None
    query: type[ApiSchema] | None = None
    description: str | None = None
    versioned: bool = False
    files: tuple[str, ...] = ()
