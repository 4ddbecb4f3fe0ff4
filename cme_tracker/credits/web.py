"""What the pages that show a year's credits share: the year picker, the names of the year bases, and the
credits of a member's year as their page shows them (totals by policy and field, lectures by symposium).

The member's credits page, the auditor's pages and the export form pick a year the same way; the member's page
and the office's member page show a year's credits with the same pieces (templates/credits/macros.html).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask_babel import LazyString, lazy_gettext
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import Session
from wtforms import IntegerField, StringField
from wtforms.validators import AnyOf, NumberRange, Optional

from cme_tracker.amounts import format_amount
from cme_tracker.attendance.models import Attendance
from cme_tracker.credits.models import CreditPolicyVersion
from cme_tracker.credits.policy import CreditPolicy, LectureCode
from cme_tracker.credits.services import CreditLine, MemberCredits
from cme_tracker.members.models import Member
from cme_tracker.program.models import Symposium
from cme_tracker.society import FIRST_REPORT_YEAR, LAST_REPORT_YEAR, SOCIETY_ZONE, year_of
from cme_tracker.vocabulary import CmeField, YearBasis
from cme_tracker.web.i18n import localized


class YearForm(FlaskForm):  # type: ignore[misc]
    """The year picker: a GET form, so it needs no CSRF token and its result can be bookmarked."""

    year = IntegerField(
        lazy_gettext("Year"), validators=[Optional(), NumberRange(FIRST_REPORT_YEAR, LAST_REPORT_YEAR)]
    )
    basis = StringField(
        lazy_gettext("Year basis"),
        default=YearBasis.CALENDAR.value,
        validators=[Optional(), AnyOf([basis.value for basis in YearBasis])],
    )


BASIS_LABELS: dict[YearBasis, LazyString] = {
    YearBasis.CALENDAR: lazy_gettext("Calendar year"),
    YearBasis.FISCAL: lazy_gettext("Fiscal year (April to March)"),
}


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


def years_attended(session: Session, member: Member, basis: YearBasis) -> set[int]:
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


@dataclass(frozen=True)
class CreditsDisplay:
    """A member's credits of a year as a page shows them: a card per policy, the lectures by symposium."""

    columns: tuple[PolicyColumn, ...]
    groups: tuple[SymposiumGroup, ...]
    needs_confirmation: bool
    """Whether a policy other than the society's own is shown, which a society officer must confirm."""


def credits_display(session: Session, credits: MemberCredits) -> CreditsDisplay:
    columns = _columns(credits, _policies_used(session, credits))
    return CreditsDisplay(
        columns=columns,
        groups=_groups(session, credits, columns),
        needs_confirmation=any(not column.society_own for column in columns),
    )
