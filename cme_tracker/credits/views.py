"""The member's own credits for a year, as the credits service computes them, by policy, field and lecture.

The member always comes from the login, never from the URL, so a member can only ever see their own records.
This module formats; it computes no credit itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import LazyString, gettext, lazy_gettext
from sqlalchemy import select
from sqlalchemy.orm import Session

from cme_tracker.accounts.authentication import own_member
from cme_tracker.amounts import format_amount
from cme_tracker.attendance.models import Attendance
from cme_tracker.credits.models import CreditPolicyVersion
from cme_tracker.credits.policy import CreditPolicy, LectureCode
from cme_tracker.credits.services import CreditLine, MemberCredits, member_credits
from cme_tracker.credits.web import BASIS_LABELS, YearForm
from cme_tracker.members.models import Member
from cme_tracker.program.models import Symposium
from cme_tracker.society import (
    FIRST_REPORT_YEAR,
    LAST_REPORT_YEAR,
    SOCIETY_ZONE,
    society_today,
    year_of,
    year_period,
)
from cme_tracker.vocabulary import CmeField, Role, YearBasis
from cme_tracker.web.i18n import localized
from cme_tracker.web.security import roles_required
from cme_tracker.web.session import db_session

blueprint = Blueprint("credits", __name__)

SOCIETY_POLICY = "imsj"
"""The society's own policy; every other preset must be confirmed by a society officer before use."""
_UNITS: dict[str, LazyString] = {
    "credits": lazy_gettext("credits"),
    "units": lazy_gettext("units"),
    "points": lazy_gettext("points"),
}
_CODE_NAMES: dict[LectureCode, LazyString] = {
    LectureCode.JMA_CC: lazy_gettext("JMA curriculum codes"),
    LectureCode.JDA_CODE: lazy_gettext("JDA training codes"),
}


@dataclass(frozen=True)
class PolicyColumn:
    """One policy as the page shows it: its totals card and its column in the lecture table."""

    code: str
    name: str
    version: str
    unit: str
    total: str
    by_field: tuple[tuple[CmeField, str], ...]
    codes: tuple[str, ...] | None
    codes_name: str | None
    society_own: bool


@dataclass(frozen=True)
class LectureRow:
    line: CreditLine
    title: str
    times: str
    awards: tuple[tuple[str, str | None] | None, ...]
    """Per policy column: (amount, code earned) or None when the policy does not count this lecture."""


@dataclass(frozen=True)
class SymposiumGroup:
    code: str
    held_on: date
    title: str
    zone: str | None
    """The time zone, named only when it is not Japan's (the Japan–Germany lecture held in Germany)."""
    rows: tuple[LectureRow, ...]


def _years_attended(session: Session, member: Member, basis: YearBasis) -> set[int]:
    days = session.scalars(
        select(Symposium.held_on)
        .join(Attendance, Attendance.symposium_id == Symposium.id)
        .where(Attendance.member_id == member.id, Attendance.voided_at.is_(None))
        .distinct()
    )
    return {year_of(day, basis) for day in days}


def _policies_used(session: Session, credits: MemberCredits) -> dict[str, CreditPolicy]:
    """The stored policy versions that produced these credits, for their names and the codes they earn."""
    rows = session.scalars(
        select(CreditPolicyVersion).where(CreditPolicyVersion.code.in_(list(credits.policies)))
    ).all()
    wanted = {(code, policy.version) for code, policy in credits.policies.items()}
    return {
        row.code: CreditPolicy.from_parameters(row.code, row.version, row.effective_from, row.parameters)
        for row in rows
        if (row.code, row.version) in wanted
    }


def _columns(credits: MemberCredits, policies: dict[str, CreditPolicy]) -> tuple[PolicyColumn, ...]:
    columns = []
    for code, result in credits.policies.items():
        policy = policies[code]
        columns.append(
            PolicyColumn(
                code=code,
                name=localized(policy.name_ja, policy.name_en),
                version=result.version,
                unit=str(_UNITS.get(result.unit_name, result.unit_name)),
                total=format_amount(result.total),
                by_field=tuple((field, format_amount(result.by_field[field])) for field in CmeField),
                codes=result.codes,
                codes_name=None if policy.lecture_code is None else str(_CODE_NAMES[policy.lecture_code]),
                society_own=code == SOCIETY_POLICY,
            )
        )
    return tuple(columns)


def _groups(
    session: Session, credits: MemberCredits, columns: tuple[PolicyColumn, ...]
) -> tuple[SymposiumGroup, ...]:
    codes = list(dict.fromkeys(line.symposium_code for line in credits.lines))
    symposia = {
        symposium.code: symposium
        for symposium in session.scalars(select(Symposium).where(Symposium.code.in_(codes)))
    }
    groups = []
    for code in codes:
        symposium = symposia[code]
        zone = symposium.zone
        groups.append(
            SymposiumGroup(
                code=code,
                held_on=symposium.held_on,
                title=localized(symposium.title_ja, symposium.title_en),
                zone=None if zone.key == SOCIETY_ZONE.key else zone.key,
                rows=tuple(
                    _row(line, zone, columns) for line in credits.lines if line.symposium_code == code
                ),
            )
        )
    return tuple(groups)


def _row(line: CreditLine, zone: ZoneInfo, columns: tuple[PolicyColumn, ...]) -> LectureRow:
    awards = []
    for column in columns:
        award = line.awards.get(column.code)
        awards.append(None if award is None else (format_amount(award.amount), award.code))
    return LectureRow(
        line=line,
        title=localized(line.title_ja, line.title_en),
        times=f"{_clock(line.starts_at, zone)}–{_clock(line.ends_at, zone)}",
        awards=tuple(awards),
    )


def _clock(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%H:%M")


@blueprint.get("/me/credits")
@roles_required(Role.MEMBER)
def mine() -> ResponseReturnValue:
    """The logged-in member's credits for one calendar or fiscal year, by policy, by field and by lecture."""
    member = own_member()
    form = YearForm(formdata=request.args, meta={"csrf": False})
    if not form.validate():
        abort(
            400,
            gettext(
                "Choose a year from %(first)d to %(last)d, and a calendar or fiscal year.",
                first=FIRST_REPORT_YEAR,
                last=LAST_REPORT_YEAR,
            ),
        )
    basis = YearBasis(form.basis.data or YearBasis.CALENDAR)
    this_year = year_of(society_today(), basis)
    year: int = form.year.data or this_year
    session = db_session()
    result = member_credits(session, member, year, basis)
    columns = _columns(result, _policies_used(session, result))
    first, after = year_period(year, basis)
    return render_template(
        "credits/mine.html",
        member=member,
        year=year,
        basis=basis,
        years=sorted(_years_attended(session, member, basis) | {year, this_year}, reverse=True),
        period=(first, after - timedelta(days=1)),
        form=form,
        basis_labels=BASIS_LABELS,
        columns=columns,
        groups=_groups(session, result, columns),
        needs_confirmation=any(not column.society_own for column in columns),
    )
