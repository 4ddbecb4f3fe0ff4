"""Fixtures of the integration tests: the app's clock, and the symposium day most API and check-in tests use.

Every app the ``app`` fixture makes here reads the test's :class:`Clock` as its ``CLOCK``: the real time
unless the test (or its module's ``clock`` fixture) sets it, e.g. to the symposium's day for desk scans.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session

from tests.integration.checkin_data import Clock, Day, make_day


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app_settings(clock: Clock) -> dict[str, Any]:
    return {"CLOCK": clock}


@pytest.fixture
def day(session: Session) -> Day:
    """Symposium 2026-05 with four lectures, another symposium and three members, committed."""
    return make_day(session)
