"""The auditors' pages: a year's figures and exports, a member's records down to each scan, the audit log.

Every view answers GET only and changes nothing; exports are requested and downloaded through
:mod:`cme_tracker.exports.views`. Auditors and administrators may read them.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, redirect, render_template, request, send_file, url_for
from flask.typing import ResponseReturnValue
from flask_babel import LazyString, gettext, lazy_gettext
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import Session
from wtforms import BooleanField, DateField, IntegerField, StringField
from wtforms.validators import AnyOf, Length, NumberRange, Optional

from cme_tracker.accounts.authentication import current_actor
from cme_tracker.amounts import format_amount
from cme_tracker.attendance.records import member_records
from cme_tracker.audit.chain import verify
from cme_tracker.auditing.chart import BarChart, ChartRow, bar_chart
from cme_tracker.auditing.log import VERIFY_INLINE_LIMIT, LogFilter, chain_length, log_page
from cme_tracker.auditing.overview import YearOverview, year_overview, year_policies, years_with_symposia
from cme_tracker.credits.services import member_credits
from cme_tracker.credits.web import BASIS_LABELS, YearForm
from cme_tracker.desk.phrases import script_phrases
from cme_tracker.documents.labels import UNIT_LABELS
from cme_tracker.exports.formats import FORMATS
from cme_tracker.exports.store import recent_requests
from cme_tracker.jobs.web import JOB_STATUS_LABELS
from cme_tracker.members.models import Member
from cme_tracker.members.services import search_members
from cme_tracker.society import FIRST_REPORT_YEAR, LAST_REPORT_YEAR, SOCIETY_ZONE, society_today, year_of
from cme_tracker.vocabulary import CmeField, Profession, Role, YearBasis
from cme_tracker.web.i18n import localized
from cme_tracker.web.security import roles_required
from cme_tracker.web.session import db_session

blueprint = Blueprint("auditing", __name__, url_prefix="/audit")

READERS = (Role.AUDITOR, Role.ADMIN)
SEARCH_LIMIT = 50
LOG_PAGE_SIZE = 50
RECENT_EXPORTS = 10
STYLESHEET = Path(__file__).with_name("auditing.css")
METHOD_LABELS: dict[str, LazyString] = {
    "qr": lazy_gettext("QR card"),
    "search": lazy_gettext("Name search"),
    "manual": lazy_gettext("Member number typed"),
    "offline": lazy_gettext("Offline, sent later"),
    "import": lazy_gettext("Imported file"),
}


class BasisForm(FlaskForm):  # type: ignore[misc]
    basis = StringField(default=YearBasis.CALENDAR.value, validators=[Optional(), AnyOf(list(YearBasis))])


class MemberSearchForm(FlaskForm):  # type: ignore[misc]
    q = StringField(lazy_gettext("Member number or name"), validators=[Optional(), Length(max=200)])


MAX_SEQUENCE = 2**31 - 1
"""The largest sequence the INTEGER column holds (32 bits on PostgreSQL); a larger ``before`` or ``after``
is a bad request, not an overflow in the driver."""


class LogForm(FlaskForm):  # type: ignore[misc]
    """The log's filters and position: a GET form, so that a filtered page can be bookmarked and shared."""

    actor = StringField(lazy_gettext("Actor"), validators=[Optional(), Length(max=100)])
    action = StringField(lazy_gettext("Action starts with"), validators=[Optional(), Length(max=64)])
    target = StringField(lazy_gettext("Target starts with"), validators=[Optional(), Length(max=200)])
    since = DateField(lazy_gettext("From"), validators=[Optional()])
    until = DateField(lazy_gettext("To"), validators=[Optional()])
    before = IntegerField(validators=[Optional(), NumberRange(min=1, max=MAX_SEQUENCE)])
    after = IntegerField(validators=[Optional(), NumberRange(min=0, max=MAX_SEQUENCE)])
    verify = BooleanField()


@blueprint.get("/")
@roles_required(*READERS)
def index() -> ResponseReturnValue:
    """The year picked in the form; by default this calendar year, or the newest with symposia."""
    form = _year_form()
    basis = YearBasis(form.basis.data or YearBasis.CALENDAR)
    year = form.year.data
    if year is None:
        this_year = year_of(society_today(), basis)
        years = years_with_symposia(db_session(), basis)
        year = this_year if this_year in years or not years else years[0]
    chosen = None if basis is YearBasis.CALENDAR else basis.value
    return redirect(url_for("auditing.overview", year=year, basis=chosen))


@blueprint.get("/years/<int:year>")
@roles_required(*READERS)
def overview(year: int) -> ResponseReturnValue:
    """The year's members, totals by field, profession and symposium, and attendance per lecture."""
    basis = _basis(year)
    session = db_session()
    figures = year_overview(session, year, basis)
    return render_template(
        "auditing/overview.html",
        overview=figures,
        chart=_attendance_chart(figures),
        years=sorted(set(years_with_symposia(session, basis)) | {year}, reverse=True),
        basis_labels=BASIS_LABELS,
        export_labels={name: gettext(export_format.label) for name, export_format in FORMATS.items()},
        exports=_recent_exports(year, basis),
        fields=list(CmeField),
        professions=list(Profession),
        **_formatters(),
    )


@blueprint.get("/members")
@roles_required(*READERS)
def members() -> ResponseReturnValue:
    """Find a member by number or by any of their names."""
    form = MemberSearchForm(formdata=request.args, meta={"csrf": False})
    if not form.validate():
        abort(400, gettext("Search with at most 200 characters."))
    query = (form.q.data or "").strip()
    found = (
        search_members(db_session(), query, limit=SEARCH_LIMIT + 1, include_inactive=True) if query else []
    )
    return render_template(
        "auditing/members.html",
        form=form,
        query=query,
        found=found[:SEARCH_LIMIT],
        more=len(found) > SEARCH_LIMIT,
    )


@blueprint.get("/members/<member_no>")
@roles_required(*READERS)
def member(member_no: str) -> ResponseReturnValue:
    """A member's credits of a year, as ``credits show`` computes them, and every record behind them."""
    form = _year_form()
    basis = YearBasis(form.basis.data or YearBasis.CALENDAR)
    year: int = form.year.data or year_of(society_today(), basis)
    session = db_session()
    found = _member_or_404(session, member_no)
    return render_template(
        "auditing/member.html",
        member=found,
        year=year,
        basis=basis,
        years=sorted(set(years_with_symposia(session, basis)) | {year}, reverse=True),
        basis_labels=BASIS_LABELS,
        credits=member_credits(session, found, year, basis),
        policies=year_policies(session, year, basis),
        records=member_records(session, found, year, basis),
        fields=list(CmeField),
        outcomes=script_phrases(),
        methods=METHOD_LABELS,
        **_formatters(),
    )


@blueprint.get("/log")
@roles_required(*READERS)
def log() -> ResponseReturnValue:
    """The audit log, newest first, and the chain's verdict: at once for a short log, else on request."""
    form = LogForm(formdata=request.args, meta={"csrf": False})
    if not form.validate():
        abort(400, gettext("Check the filters: dates as YYYY-MM-DD, texts of at most 200 characters."))
    criteria = LogFilter(
        actor=(form.actor.data or "").strip() or None,
        action=(form.action.data or "").strip() or None,
        target=(form.target.data or "").strip() or None,
        since=form.since.data,
        until=form.until.data,
        zone=SOCIETY_ZONE,
    )
    session = db_session()
    length = chain_length(session)
    checked = form.verify.data or length <= VERIFY_INLINE_LIMIT
    filters = {
        name: value
        for name, value in request.args.items()
        if name in ("actor", "action", "target", "since", "until") and value
    }
    return render_template(
        "auditing/log.html",
        form=form,
        filters=filters,
        page=log_page(session, criteria, before=form.before.data, after=form.after.data, size=LOG_PAGE_SIZE),
        report=verify(session) if checked else None,
        chain_length=length,
        pretty=_pretty_json,
        **_formatters(),
    )


@blueprint.get("/auditing.css")
@roles_required(*READERS)
def stylesheet() -> ResponseReturnValue:
    """The auditors' pages' own styles, for their readers only (the site's static folder is shared)."""
    return send_file(STYLESHEET, mimetype="text/css", max_age=3600)


def _year_form() -> YearForm:
    form = YearForm(formdata=request.args, meta={"csrf": False})
    if not form.validate():
        abort(400, _year_problem())
    return form


def _year_problem() -> str:
    problem: str = gettext(
        "Choose a year from %(first)d to %(last)d, and a calendar or fiscal year.",
        first=FIRST_REPORT_YEAR,
        last=LAST_REPORT_YEAR,
    )
    return problem


def _basis(year: int) -> YearBasis:
    form = BasisForm(formdata=request.args, meta={"csrf": False})
    if not form.validate() or not FIRST_REPORT_YEAR <= year <= LAST_REPORT_YEAR:
        abort(400, _year_problem())
    return YearBasis(form.basis.data or YearBasis.CALENDAR)


def _member_or_404(session: Session, member_no: str) -> Member:
    found = session.scalar(select(Member).where(Member.member_no == member_no))
    if found is None:
        abort(404, gettext("There is no member with the number %(number)s.", number=member_no))
    return found


def _recent_exports(year: int, basis: YearBasis) -> list[dict[str, Any]]:
    """The current user's latest exports of the year, for the year page: job, format, status, file."""
    return [
        {"job": job, "wanted": wanted, "label": JOB_STATUS_LABELS.get(job.status, job.status)}
        for job, wanted in recent_requests(
            db_session(), current_actor().name, year, basis, limit=RECENT_EXPORTS
        )
    ]


def _attendance_chart(figures: YearOverview) -> BarChart:
    return bar_chart(
        [
            (
                f"{symposium.code} · {localized(symposium.title_ja, symposium.title_en)}",
                [
                    ChartRow(
                        lecture.code,
                        localized(lecture.title_ja, lecture.title_en),
                        lecture.checked_in,
                        lecture.credited,
                    )
                    for lecture in symposium.lectures
                ],
            )
            for symposium in figures.symposia
        ]
    )


def _local(moment: datetime | None, zone: str = SOCIETY_ZONE.key, pattern: str = "%Y-%m-%d %H:%M:%S") -> str:
    """A stored UTC time as the clock showed it where it happened (the symposium's zone, or Japan's)."""
    return "" if moment is None else moment.astimezone(ZoneInfo(zone)).strftime(pattern)


def _pretty_json(details: Any) -> str:
    return json.dumps(details, ensure_ascii=False, indent=2, sort_keys=True)


def _formatters() -> dict[str, Any]:
    return {"amount": format_amount, "local": _local, "units": UNIT_LABELS}
