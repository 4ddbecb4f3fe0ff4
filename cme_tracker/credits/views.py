"""The member's own credits for a year, as the credits service computes them, by policy, field and lecture.

The member always comes from the login, never from the URL, so a member can only ever see their own records.
This module formats; it computes no credit itself (the pieces it shows are built in credits/web.py, which the
office's member page shares).
"""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, abort, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext

from cme_tracker.accounts.authentication import own_member
from cme_tracker.credits.services import member_credits
from cme_tracker.credits.web import BASIS_LABELS, YearForm, credits_display, years_attended
from cme_tracker.society import (
    FIRST_REPORT_YEAR,
    LAST_REPORT_YEAR,
    society_today,
    year_of,
    year_period,
)
from cme_tracker.vocabulary import Role, YearBasis
from cme_tracker.web.security import roles_required
from cme_tracker.web.session import db_session

blueprint = Blueprint("credits", __name__)


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
    display = credits_display(session, member_credits(session, member, year, basis))
    first, after = year_period(year, basis)
    return render_template(
        "credits/mine.html",
        member=member,
        year=year,
        basis=basis,
        years=sorted(years_attended(session, member, basis) | {year, this_year}, reverse=True),
        period=(first, after - timedelta(days=1)),
        form=form,
        basis_labels=BASIS_LABELS,
        display=display,
    )
