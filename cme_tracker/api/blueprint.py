"""The ``api`` blueprint (``/api/v1``) and the body and query loading every API module shares.

Each API module (views.py and one per area of the office) adds its routes to this blueprint when imported;
webapp.py imports them all and registers it once.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request
from marshmallow import Schema, ValidationError

from cme_tracker.errors import DomainError

blueprint = Blueprint("api", __name__, url_prefix="/api/v1")


def json_body() -> Any:
    """The request's JSON object; anything else (no body, a list, invalid JSON) is a 422 ``invalid``."""
    body = request.get_json(force=True, silent=True)
    if not isinstance(body, dict):
        raise DomainError(
            "the body must be a JSON object", code="invalid", details={"body": ["not a JSON object"]}
        )
    return body


def load(schema: Schema, data: Any) -> dict[str, Any]:
    """``data`` loaded by ``schema``; every problem is named by field in the 422's ``details``."""
    try:
        loaded: dict[str, Any] = schema.load(data)
    except ValidationError as error:
        raise DomainError("the request has invalid fields", code="invalid", details=error.messages) from None
    return loaded
