"""What the pages that show a year's credits share: the year picker and the names of the year bases.

The member's credits page, the auditor's pages and the export form pick a year the same way.
"""

from __future__ import annotations

from flask_babel import LazyString, lazy_gettext
from flask_wtf import FlaskForm
from wtforms import IntegerField, StringField
from wtforms.validators import AnyOf, NumberRange, Optional

from cme_tracker.society import FIRST_REPORT_YEAR, LAST_REPORT_YEAR
from cme_tracker.vocabulary import YearBasis


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
