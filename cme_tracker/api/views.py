"""The JSON API under /api/v1: check-in and check-out scans, undo, live counts, member search, credits.

Desk devices and auditors' scripts send a bearer token (an API client); the desk page and other logged-in
users send their session cookie and, on POST, the CSRF token in ``X-CSRFToken``. A request commits once, at
the end; a refused one writes nothing, but a pending ``out`` is kept with its 409 (see attendance/checkin/).
Errors are ``{"error": code, "message": text, "details": ...}`` (web/errors.py); answers are shaped in
api/responses.py (a member's credits in credits/schemas.py), and api/openapi.py describes every
operation. "Now" is the app's clock (web/clock.py).
"""

from __future__ import annotations

from flask import abort, current_app, jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from cme_tracker.accounts.authentication import current_actor
from cme_tracker.api.blueprint import blueprint, json_body, load
from cme_tracker.api.responses import (
    member_search_json,
    refusal_json,
    scan_result_json,
    symposium_counts_json,
    voided_attendance_json,
)
from cme_tracker.api.schemas import CheckinSchema, CreditsQuerySchema, SearchQuerySchema, VoidSchema
from cme_tracker.attendance.checkin.rules import (
    PENDING_OUT,
    Refusal,
    ScanRequest,
)
from cme_tracker.attendance.checkin.service import record_scan, void_attendance
from cme_tracker.attendance.counts import symposium_counts
from cme_tracker.attendance.models import Attendance
from cme_tracker.counters import CHECKINS
from cme_tracker.credits.schemas import member_credits_json
from cme_tracker.credits.services import member_credits
from cme_tracker.db import begin_write
from cme_tracker.errors import Conflict, DomainError, NotFound
from cme_tracker.members.models import Member
from cme_tracker.members.services import search_members
from cme_tracker.vocabulary import Role, YearBasis
from cme_tracker.web import clock
from cme_tracker.web.i18n import select_locale
from cme_tracker.web.security import roles_required
from cme_tracker.web.session import db_session

# Loading needs no state of its own, and building a schema costs more than loading a scan with it.
CHECKIN_SCHEMA = CheckinSchema()
VOID_SCHEMA = VoidSchema()
CREDITS_QUERY_SCHEMA = CreditsQuerySchema()
SEARCH_QUERY_SCHEMA = SearchQuerySchema()


@blueprint.post("/checkins")
@roles_required(Role.DESK, Role.ADMIN, api_clients=True)
def checkins() -> ResponseReturnValue:
    """One scan: 201 when it opened or closed an attendance, 200 for a repeat or a retried nonce."""
    form = load(CHECKIN_SCHEMA, json_body())
    actor = current_actor()
    session = db_session()
    try:
        result = record_scan(
            session,
            ScanRequest(**form),
            card_secret=current_app.config["SECRET_KEY"],
            operator=actor.name,
            now=clock.now(),
            privileged=actor.has_role(Role.ADMIN),
            before_write=begin_write,
        )
    except DomainError as error:
        CHECKINS.labels(error.code).inc()
        if isinstance(error.details, Refusal):  # the member it names, for the desk to show
            error.details = refusal_json(error.details)
        raise
    session.commit()
    CHECKINS.labels(result.status).inc()
    # The profession in the desk's language: Flask-Babel's own selector, asked directly, as the babel
    # ``Locale`` that its ``get_locale`` builds on the way costs more than the rest of the answer.
    body = scan_result_json(result, select_locale())
    if result.status == PENDING_OUT:  # refused, but kept: committed above, before the error answer
        message = f"{result.member.name_romaji} is not checked in at {result.target.code}"
        raise Conflict(message, code=PENDING_OUT, details=body)
    return jsonify(body), 201 if result.created else 200


@blueprint.post("/attendances/<int:attendance_id>/void")
@roles_required(Role.DESK, Role.ADMIN, api_clients=True)
def void(attendance_id: int) -> ResponseReturnValue:
    """Undo a scan by voiding its attendance: desks within 10 minutes of recording it, admins at any time."""
    form = load(VOID_SCHEMA, json_body())
    actor = current_actor()
    session = db_session()
    begin_write(session)
    attendance = session.get(Attendance, attendance_id, with_for_update=True)  # two desks undoing at once
    if attendance is None:
        raise NotFound(f"no attendance {attendance_id}", code="unknown_attendance")
    void_attendance(
        session,
        attendance,
        reason=form["reason"],
        operator=actor.name,
        now=clock.now(),
        privileged=actor.has_role(Role.ADMIN),
    )
    session.commit()
    return jsonify(voided_attendance_json(attendance))


@blueprint.get("/symposia/<code>/attendance")
@roles_required(Role.DESK, Role.ADMIN, Role.AUDITOR, api_clients=True)
def attendance_counts(code: str) -> ResponseReturnValue:
    """Checked in and inside now, per lecture and for the whole day."""
    return jsonify(symposium_counts_json(symposium_counts(db_session(), code, clock.now())))


@blueprint.get("/members/search")
@roles_required(Role.DESK, Role.ADMIN, api_clients=True)
def member_search() -> ResponseReturnValue:
    """Members by any of their names (kanji, kana of any kind and width, romaji of any case) or number."""
    query = load(SEARCH_QUERY_SCHEMA, request.args.to_dict())
    members = search_members(db_session(), query["q"], query["limit"])
    return jsonify(member_search_json(members, select_locale()))


@blueprint.get("/members/<member_no>/credits")
@roles_required(Role.AUDITOR, Role.ADMIN, Role.MEMBER, api_clients=True)
def credits(member_no: str) -> ResponseReturnValue:
    """A member's credits for a year, shaped as ``credits show --json``; a member may read only their own."""
    query = load(CREDITS_QUERY_SCHEMA, request.args.to_dict())
    actor = current_actor()
    if not actor.has_role(Role.AUDITOR, Role.ADMIN):
        own = actor.user.member if actor.user is not None else None
        if own is None or own.member_no != member_no:
            abort(403, "a member may read their own credits only")
    session = db_session()
    member = session.scalar(select(Member).where(Member.member_no == member_no))
    if member is None:
        raise NotFound(f"no member {member_no}", code="unknown_member")
    result = member_credits(session, member, query["year"], YearBasis(query["basis"]))
    return jsonify(member_credits_json(result))
