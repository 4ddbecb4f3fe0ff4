"""The public verification pages: anyone holding a certificate's serial and code, or its PDF, may check it.

``GET /verify/SERIAL?c=CODE`` is the link printed and QR-coded on every certificate; ``GET
/verify/SERIAL.json?c=CODE`` answers the same for scripts (in the shape of documents/schemas.py, which the API
shares); ``POST /verify/upload`` checks a PDF file. An unknown serial and a wrong code get the same answer,
and the pages show what the certificate itself shows, nothing more: no member number, registry numbers or
e-mail address.

Lookups and uploads are counted per client IP address in the database (:mod:`cme_tracker.web.ratelimit`), so
every web process counts together. The address is ``request.remote_addr``: behind a reverse proxy, wrap the
app in werkzeug's ``ProxyFix`` with the number of proxies, or every visitor shares the proxy's address.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from flask import Blueprint, current_app, jsonify, make_response, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext, lazy_gettext
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from cme_tracker.counters import VERIFY_LOOKUPS
from cme_tracker.db import begin_write
from cme_tracker.documents.labels import CATEGORY_LABELS, PROBLEM_LABELS, STATUS_LABELS, UNIT_LABELS
from cme_tracker.documents.schemas import verification_json
from cme_tracker.documents.web import signing_identity
from cme_tracker.web import clock
from cme_tracker.web.ratelimit import hit
from cme_tracker.web.security import public
from cme_tracker.web.session import db_session

if TYPE_CHECKING:
    from cme_tracker.documents.verify import Verification

blueprint = Blueprint("verify", __name__, url_prefix="/verify")

LOOKUPS_PER_MINUTE = 30
UPLOADS_PER_MINUTE = 10
"""Defaults; the app config keys ``VERIFY_LOOKUPS_PER_MINUTE`` and ``VERIFY_UPLOADS_PER_MINUTE`` override."""
WINDOW = timedelta(minutes=1)
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
_FORM_OVERHEAD = 64 * 1024
"""Room for the multipart envelope and the CSRF token around a file of the largest accepted size."""
PDF_MAGIC = b"%PDF-"
_MAGIC_WINDOW = 1024
"""PDF readers accept the header anywhere in the first kilobyte."""


class LookupForm(FlaskForm):  # type: ignore[misc]
    """Serial and code typed from paper: a GET form, so it needs no CSRF token."""

    serial = StringField(lazy_gettext("Serial number"), validators=[DataRequired(), Length(max=40)])
    c = StringField(lazy_gettext("Verification code"), validators=[DataRequired(), Length(max=64)])


class UploadForm(FlaskForm):  # type: ignore[misc]
    file = FileField(
        lazy_gettext("Certificate PDF file"),
        validators=[FileRequired(lazy_gettext("Choose the PDF file of the certificate."))],
    )


@blueprint.url_value_preprocessor
def _limit_body_size(endpoint: str | None, _values: dict[str, Any] | None) -> None:
    """Cap an upload before anything reads the body: this hook runs ahead of every ``before_request``
    function, the CSRF check included, which parses the form."""
    if endpoint == "verify.upload":
        request.max_content_length = MAX_UPLOAD_BYTES + _FORM_OVERHEAD


@blueprint.errorhandler(RequestEntityTooLarge)
def _too_large(_error: RequestEntityTooLarge) -> ResponseReturnValue:
    form = UploadForm(formdata=None)
    form.file.errors = [gettext("The file is larger than 10 MB: it cannot be a certificate of ours.")]
    return _form_page(upload=form, status=413)


@blueprint.get("/")
@public
def form() -> ResponseReturnValue:
    """The form to type a serial and code (a submitted form goes to the certificate's page), and to upload."""
    submitted = "serial" in request.args or "c" in request.args
    lookup = LookupForm(formdata=request.args if submitted else None, meta={"csrf": False})
    if not submitted:
        return _form_page(lookup=lookup)
    if not lookup.validate():
        return _form_page(lookup=lookup, status=422)
    serial = (lookup.serial.data or "").strip().upper()
    return redirect(url_for("verify.lookup", serial=serial, c=(lookup.c.data or "").strip()))


@blueprint.get("/<serial>")
@public
def lookup(serial: str) -> ResponseReturnValue:
    """The page the printed link and QR code lead to: the certificate's status and what it certifies."""
    if _over_limit("lookup", "VERIFY_LOOKUPS_PER_MINUTE", LOOKUPS_PER_MINUTE):
        return _rate_limited_page()
    result = _look_up(serial)
    return _private(render_template("certificates/verify_result.html", **_result_context(result)))


@blueprint.get("/<serial>.json")
@public
def lookup_json(serial: str) -> ResponseReturnValue:
    """The same answer for scripts: ``{"valid", "verdict", "problem", "message", "certificate"}``."""
    if _over_limit("lookup", "VERIFY_LOOKUPS_PER_MINUTE", LOOKUPS_PER_MINUTE):
        body = {
            "error": "rate_limited",
            "message": "too many verifications from this address; try again in a minute",
            "details": None,
        }
        return _private(jsonify(body)), 429, {"Retry-After": _retry_after()}
    return _private(jsonify(verification_json(_look_up(serial))))


@blueprint.route("/upload", methods=["GET", "POST"])
@public
def upload() -> ResponseReturnValue:
    """Check an uploaded PDF: the society's signature, nothing added after it, the issued file, its status."""
    form = UploadForm()
    if request.method == "GET":
        return _form_page(upload=form)
    if _over_limit("upload", "VERIFY_UPLOADS_PER_MINUTE", UPLOADS_PER_MINUTE):
        return _rate_limited_page()
    if not form.validate_on_submit():
        return _form_page(upload=form, status=422)
    data: bytes = form.file.data.read()
    if len(data) > MAX_UPLOAD_BYTES:
        return _too_large(RequestEntityTooLarge())
    if PDF_MAGIC not in data[:_MAGIC_WINDOW]:
        form.file.errors.append(
            gettext("This is not a PDF file. Upload the certificate's PDF file as you received it.")
        )
        return _form_page(upload=form, status=422)
    from cme_tracker.documents.verify import verify_file  # pyHanko: loaded on first use, not with the app

    result = verify_file(db_session(), signing_identity(), data)
    VERIFY_LOOKUPS.labels(result.verdict.value).inc()
    page = render_template("certificates/verify_result.html", **_result_context(result), uploaded=True)
    return _private(page)


def _look_up(serial: str) -> Verification:
    from cme_tracker.documents.verify import look_up  # pyHanko: loaded on first use, not with the app

    result = look_up(db_session(), serial, request.args.get("c", ""))
    VERIFY_LOOKUPS.labels(result.verdict.value).inc()
    return result


def _over_limit(kind: str, config_key: str, default: int) -> bool:
    """Count this request and say whether the client went over its limit; the count commits either way."""
    session = db_session()
    begin_write(session)
    hits = hit(session, f"verify-{kind}:{request.remote_addr}", clock.now(), window=WINDOW)
    session.commit()
    limit: int = current_app.config.get(config_key, default)
    return hits > limit


def _retry_after() -> str:
    """Seconds until the current counting window ends."""
    seconds = WINDOW.total_seconds()
    return str(int(seconds - clock.now().timestamp() % seconds) + 1)


def _rate_limited_page() -> ResponseReturnValue:
    page = render_template("certificates/rate_limited.html")
    return _private(page), 429, {"Retry-After": _retry_after()}


def _form_page(
    *, lookup: LookupForm | None = None, upload: UploadForm | None = None, status: int = 200
) -> ResponseReturnValue:
    page = render_template(
        "certificates/verify_form.html",
        lookup=lookup or LookupForm(formdata=None, meta={"csrf": False}),
        upload=upload or UploadForm(formdata=None),
        max_megabytes=MAX_UPLOAD_BYTES // (1024 * 1024),
    )
    return page, status


def _result_context(result: Verification) -> dict[str, Any]:
    """What the result page shows: the verdict, the record's dates as dates, and the words for codes."""
    record = result.record
    return {
        "result": result,
        "record": record,
        "verdict": result.verdict.value,
        "issued_on": _day(record.issued_at) if record else None,
        "held_on": _day(record.symposium_date) if record and record.symposium_date else None,
        "revoked_on": _day(record.revoked_at) if record and record.revoked_at else None,
        "status_labels": STATUS_LABELS,
        "category_labels": CATEGORY_LABELS,
        "unit_labels": UNIT_LABELS,
        "problem_text": PROBLEM_LABELS.get(result.problem or ""),
    }


def _day(iso: str) -> date:
    return datetime.fromisoformat(iso).date() if "T" in iso else date.fromisoformat(iso)


def _private(body: Any) -> Response:
    """Verification answers change with the certificate's status and carry the code in their URL: no cache
    keeps them and no search engine lists them."""
    response = make_response(body)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    return response
