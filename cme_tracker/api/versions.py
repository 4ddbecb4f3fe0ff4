"""Optimistic concurrency for the API's edits: every editable record has an integer ``version``, sent as its
``ETag`` (``"7"``); an edit must name the version it was made against in ``If-Match``.

A missing ``If-Match`` is refused with 428 ``precondition_required``, so a script cannot overwrite someone
else's change by leaving the header out; a stale one is refused by the service with 412 ``version_mismatch``
(:class:`~cme_tracker.errors.StaleVersion`), whose details carry the current version.
"""

from __future__ import annotations

import re

from flask import Response, request

from cme_tracker.errors import DomainError

_ENTITY_TAG = re.compile(r'^\s*(?:W/)?"(?P<version>[0-9]{1,9})"\s*$')


class PreconditionRequired(DomainError):
    code = "precondition_required"
    http_status = 428


def etag(version: int) -> str:
    return f'"{version}"'


def expected_version() -> int:
    """The version the client's ``If-Match`` names."""
    header = request.headers.get("If-Match")
    if header is None:
        raise PreconditionRequired(
            "send If-Match with the ETag of the version you edited (GET the record first)"
        )
    match = _ENTITY_TAG.match(header)
    if match is None:
        raise DomainError(
            'If-Match must be one entity tag such as "7", the ETag of the record',
            code="invalid",
            details={"If-Match": ["not an entity tag of this API"]},
        )
    return int(match["version"])


def tagged(response: Response, version: int) -> Response:
    """``response`` with the record's ``ETag``."""
    response.headers["ETag"] = etag(version)
    return response
