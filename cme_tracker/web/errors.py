"""The one place where errors become responses: HTML pages in the site's layout, JSON under /api/.

HTTP errors, failed CSRF checks and the services' :class:`~cme_tracker.errors.DomainError` all end here. Every
handler first rolls back the request's database session, so a failed request leaves the database as it was.

An unexpected exception is logged with its traceback (and the request id) by Flask's ``log_exception`` on the
app's logger just before the 500 handler runs, so the handler does not log it a second time; neither the
page nor the JSON answer carries any of it. Every JSON error, here and the desk's, is shaped by
:class:`ErrorSchema`, which the OpenAPI document describes too.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, g, jsonify, render_template
from flask.typing import ResponseReturnValue
from flask_babel import LazyString, lazy_gettext
from flask_wtf.csrf import CSRFError
from marshmallow import Schema, fields
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from cme_tracker.errors import DomainError, StaleVersion
from cme_tracker.web.security import is_api_request

_PAGES: dict[int, tuple[LazyString, LazyString]] = {
    400: (
        lazy_gettext("Bad request"),
        lazy_gettext("The request could not be understood. Check what you entered and try again."),
    ),
    401: (lazy_gettext("Login required"), lazy_gettext("Please log in to continue.")),
    403: (
        lazy_gettext("Access denied"),
        lazy_gettext(
            "Your login does not give access to this page. If you think it should, ask the society office."
        ),
    ),
    404: (
        lazy_gettext("Page not found"),
        lazy_gettext("There is no page at this address. The link may be mistyped or out of date."),
    ),
    405: (
        lazy_gettext("Method not allowed"),
        lazy_gettext(
            "This address cannot be used this way. Go back and use the page's own links and buttons."
        ),
    ),
    409: (
        lazy_gettext("Conflict"),
        lazy_gettext("This cannot be done in the current state of the records."),
    ),
    413: (
        lazy_gettext("Request too large"),
        lazy_gettext("What was sent is larger than this site accepts. Send a smaller file or fewer rows."),
    ),
    422: (
        lazy_gettext("Cannot be processed"),
        lazy_gettext("The request was understood but contains values that cannot be accepted."),
    ),
    500: (
        lazy_gettext("Something went wrong"),
        lazy_gettext("An unexpected error occurred on our side. It has been logged; please try again later."),
    ),
}
_CSRF_PAGE = (
    lazy_gettext("Form expired"),
    lazy_gettext(
        "The form was not accepted because its security token is missing or no longer valid. "
        "Reload the page and send the form again."
    ),
)
_KEPT_HEADERS = ("Allow", "WWW-Authenticate", "Retry-After")


class ErrorSchema(Schema):
    """``{"error": code, "message": text, "details": ...}``: what every JSON error answers."""

    error = fields.String(required=True, metadata={"description": "A machine-readable code."})
    message = fields.String(required=True)
    details = fields.Raw(
        required=True,
        allow_none=True,
        metadata={
            "description": "Field problems, the member a refused scan named, or the scan result of a "
            "pending `out`."
        },
    )


_ERROR = ErrorSchema()


def error_json(code: str, message: str, details: Any = None) -> dict[str, Any]:
    dumped: dict[str, Any] = _ERROR.dump({"error": code, "message": message, "details": details})
    return dumped


def _discard_changes() -> None:
    session: Session | None = g.get("db_session")
    if session is not None:
        session.rollback()


def _error_code(error: HTTPException) -> str:
    """``not_found``, ``method_not_allowed``, ...: the status's name as the API's machine-readable code."""
    return "_".join(error.name.lower().replace("'", "").split())


def _respond(
    status: int,
    code: str,
    message: str,
    *,
    details: Any = None,
    page: tuple[LazyString, LazyString] | None = None,
    html_message: str | None = None,
    headers: list[tuple[str, str]] | None = None,
) -> ResponseReturnValue:
    """JSON for API paths; otherwise the error page with a translated title and explanation."""
    if is_api_request():
        body = jsonify(error_json(code, message, details))
        return body, status, headers or []
    title, explanation = page or _PAGES.get(status, _PAGES[500] if status >= 500 else _PAGES[400])
    html = render_template(
        "errors/error.html",
        status=status,
        title=str(title),
        message=html_message or str(explanation),
    )
    return html, status, headers or []


def handle_http_error(error: HTTPException) -> ResponseReturnValue:
    if error.code is None or error.code < 400:
        return error
    _discard_changes()
    custom = error.description if error.description != type(error).description else None
    kept = [(name, value) for name, value in error.get_headers() if name in _KEPT_HEADERS]
    if error.code == 401 and is_api_request():
        kept.append(("WWW-Authenticate", 'Bearer realm="cme-tracker"'))
    return _respond(
        error.code,
        _error_code(error),
        error.description or error.name,
        html_message=custom,
        headers=kept,
    )


def handle_csrf_error(error: CSRFError) -> ResponseReturnValue:
    _discard_changes()
    return _respond(400, "csrf_failed", error.description or "CSRF check failed", page=_CSRF_PAGE)


def handle_domain_error(error: DomainError) -> ResponseReturnValue:
    """A service refused: its status, code and message, for a person (HTML) or a program (JSON)."""
    _discard_changes()
    return _respond(
        error.http_status, error.code, error.message, details=error.details, html_message=error.message
    )


def handle_stale_data(_error: StaleDataError) -> ResponseReturnValue:
    """Two edits of one record raced past their version checks: the database took the first (the ORM's
    ``version_id_col`` names the version in the UPDATE), and the second is refused as stale."""
    return handle_domain_error(
        StaleVersion("the record was changed meanwhile by someone else: reload it and edit again")
    )


def init_app(app: Flask) -> None:
    app.register_error_handler(CSRFError, handle_csrf_error)
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(DomainError, handle_domain_error)
    app.register_error_handler(StaleDataError, handle_stale_data)
