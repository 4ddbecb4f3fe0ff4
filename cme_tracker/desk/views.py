"""The attendance desk page, its service worker, and walk-in registration.

The page is a server-rendered shell; its scripts record scans through the JSON API (``/api/v1``) and keep them
in the browser while the server cannot be reached. Everything the scripts need to know (symposia, lectures,
translated phrases, URLs) comes in one ``data-config`` attribute, because the CSP forbids inline scripts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, current_app, jsonify, render_template, request, send_from_directory, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_login import current_user
from flask_wtf.csrf import CSRFError, generate_csrf
from marshmallow import ValidationError
from sqlalchemy import select
from werkzeug.exceptions import RequestEntityTooLarge

from cme_tracker.accounts.models import User
from cme_tracker.api.responses import scan_member_json
from cme_tracker.attendance.checkin.rules import DESK_UNDO_WINDOW
from cme_tracker.attendance.checkin.service import scan_member
from cme_tracker.db import begin_write
from cme_tracker.desk.phrases import script_phrases
from cme_tracker.desk.schemas import WalkInSchema
from cme_tracker.desk.symposia import desk_symposia, is_held_today
from cme_tracker.desk.walkins import register_walk_in
from cme_tracker.errors import DomainError, NotFound
from cme_tracker.program.models import Lecture, Symposium
from cme_tracker.vocabulary import Profession, Role
from cme_tracker.web import clock
from cme_tracker.web.errors import error_json
from cme_tracker.web.hygiene import RefusedInput
from cme_tracker.web.i18n import current_language, label, localized
from cme_tracker.web.security import public, roles_required
from cme_tracker.web.session import db_session

blueprint = Blueprint("desk", __name__, url_prefix="/desk")

DESK_ROLES = (Role.DESK, Role.ADMIN)
UNDO_MINUTES = int(DESK_UNDO_WINDOW.total_seconds() // 60)
"""How long the desk offers Undo: the window the void API enforces."""
COUNTS_INTERVAL_SECONDS = 5
"""How often the page polls the live counts; the poll also notices the server coming back."""
API_ROOT = "/api/v1"
"""Where the check-in API lives; the scripts build its paths as docs/api.md documents them."""


@blueprint.get("/")
@roles_required(*DESK_ROLES)
def page() -> ResponseReturnValue:
    """The desk: today's symposia for desk staff; an admin may also pick any other date for corrections."""
    user: User = current_user._get_current_object()
    now = clock.now()
    corrections = user.has_role(Role.ADMIN)
    symposia = desk_symposia(db_session(), now, any_date=corrections)
    choices = [(symposium, is_held_today(symposium, now)) for symposium in symposia]
    return render_template(
        "desk/page.html",
        choices=choices,
        corrections=corrections,
        professions=[(profession.value, label(profession)) for profession in Profession],
        config=_page_config(user, choices),
    )


@blueprint.get("/sw.js")
@public
def service_worker() -> ResponseReturnValue:
    """The offline shell's service worker, served from /desk/ so that its scope covers the desk page.

    Public: it is static code with nothing secret in it, and browsers fetch it for updates on their own,
    also after a login has expired.
    """
    folder = Path(current_app.static_folder or "static") / "desk"
    response = send_from_directory(folder, "sw.js", mimetype="text/javascript", max_age=0)
    response.headers["Cache-Control"] = "no-cache"
    return response


@blueprint.post("/walk-ins")
@roles_required(*DESK_ROLES)
def walk_in() -> ResponseReturnValue:
    """Register a guest (flagged for review) and answer with their member number, for the page to check in.

    JSON in and out, with the CSRF token in the ``X-CSRFToken`` header; errors are shaped like the API's.
    """
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        return _error(400, "invalid", gettext("Send the walk-in as a JSON object."))
    try:
        form = WalkInSchema().load(payload)
    except ValidationError as error:
        return _error(422, "invalid", gettext("Check the marked fields"), error.messages)
    session = db_session()
    user: User = current_user._get_current_object()
    begin_write(session)
    symposium = _symposium(form["symposium_code"])
    member = register_walk_in(
        session, form["walk_in"], actor=user.login, now=clock.now(), symposium=symposium, desk=form["desk"]
    )
    session.commit()
    return jsonify(member=scan_member_json(scan_member(member))), 201


@blueprint.errorhandler(DomainError)
def _domain_error(error: DomainError) -> ResponseReturnValue:
    """The desk's scripts read errors shaped like the API's, so a refused walk-in answers JSON too."""
    db_session().rollback()
    return _error(error.http_status, error.code, error.message, error.details)


@blueprint.errorhandler(CSRFError)
def _csrf_error(error: CSRFError) -> ResponseReturnValue:
    """A page kept open past its session: the script tells the clerk to reload it."""
    return _error(400, "csrf_failed", error.description or "CSRF check failed")


@blueprint.errorhandler(RefusedInput)
def _refused_input(error: RefusedInput) -> ResponseReturnValue:
    """A NUL byte, a lone surrogate or JSON nested too deeply (:mod:`cme_tracker.web.hygiene`), as JSON."""
    return _error(400, "refused_input", error.description or "refused input")


@blueprint.errorhandler(RequestEntityTooLarge)
def _too_large(error: RequestEntityTooLarge) -> ResponseReturnValue:
    return _error(413, "too_large", error.description or "request too large")


def _error(status: int, code: str, message: str, details: Any = None) -> ResponseReturnValue:
    return jsonify(error_json(code, message, details)), status


def _symposium(code: str | None) -> Symposium | None:
    if code is None:
        return None
    symposium = db_session().scalar(select(Symposium).where(Symposium.code == code))
    if symposium is None:
        raise NotFound(f"no symposium {code}", code="unknown_symposium")
    return symposium


def _lecture_json(lecture: Lecture) -> dict[str, Any]:
    zone = lecture.symposium.zone
    return {
        "code": lecture.code,
        "title": localized(lecture.title_ja, lecture.title_en),
        "starts": lecture.starts_at.astimezone(zone).strftime("%H:%M"),
        "ends": lecture.ends_at.astimezone(zone).strftime("%H:%M"),
    }


def _page_config(user: User, choices: list[tuple[Symposium, bool]]) -> dict[str, Any]:
    return {
        "lang": current_language(),
        "operator": user.login,
        "csrfToken": generate_csrf(),
        "api": request.script_root + API_ROOT,
        "walkIns": url_for("desk.walk_in"),
        "serviceWorker": url_for("desk.service_worker"),
        "scope": url_for("desk.page"),
        "undoMinutes": UNDO_MINUTES,
        "countsInterval": COUNTS_INTERVAL_SECONDS,
        "symposia": [
            {
                "code": symposium.code,
                "title": localized(symposium.title_ja, symposium.title_en),
                "heldOn": symposium.held_on.isoformat(),
                "today": today,
                "timezone": symposium.timezone,
                "lectures": [_lecture_json(lecture) for lecture in symposium.lectures],
            }
            for symposium, today in choices
        ],
        "professions": {profession.value: label(profession) for profession in Profession},
        "phrases": script_phrases(),
    }
