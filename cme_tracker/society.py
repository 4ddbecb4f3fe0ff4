"""The society's constants: its home time zone, when its fiscal year starts, and where a year begins and ends.

Every part that needs "today in Japan", "the fiscal year of this date" or "the days of year YYYY" asks here,
so that the rule lives in one place (the fiscal year YYYY runs from 1 April YYYY to 31 March YYYY+1).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Final
from zoneinfo import ZoneInfo

from cme_tracker.vocabulary import YearBasis

SOCIETY_ZONE_NAME: Final = "Asia/Tokyo"
SOCIETY_ZONE: Final = ZoneInfo(SOCIETY_ZONE_NAME)
"""The society's home time zone: the default of a symposium, and the zone of issue dates and office pages."""

FISCAL_YEAR_START_MONTH: Final = 4
"""The fiscal year YYYY starts on 1 April YYYY."""

FIRST_REPORT_YEAR: Final = 2000
LAST_REPORT_YEAR: Final = 2100
"""The years whose credits, transcripts and exports the pages and the API can be asked for."""


def year_period(year: int, basis: YearBasis) -> tuple[date, date]:
    """The first day of the year and the first day after it."""
    first = date(year, 1, 1) if basis is YearBasis.CALENDAR else date(year, FISCAL_YEAR_START_MONTH, 1)
    return first, first.replace(year=year + 1)


def year_of(day: date, basis: YearBasis) -> int:
    """The calendar or fiscal year ``day`` falls in."""
    if basis is YearBasis.FISCAL and day.month < FISCAL_YEAR_START_MONTH:
        return day.year - 1
    return day.year


def society_today() -> date:
    """Today's date in the society's time zone."""
    return datetime.now(SOCIETY_ZONE).date()
