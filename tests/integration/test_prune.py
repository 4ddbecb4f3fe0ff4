"""The verify page's rate-limit rows and the failed-login counts do not pile up: a one-time visitor's row is
gone once its window has ended, a mistyped password's once it is forgotten, swept out as the tables are
written and by ``cme-tracker db prune`` (which the long-running worker also runs)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cme_tracker.accounts import throttle
from cme_tracker.accounts.throttle import FORGET_AFTER, LoginFailures
from cme_tracker.db import utcnow
from cme_tracker.web import ratelimit
from cme_tracker.web.ratelimit import LONGEST_WINDOW, RateLimitWindow
from tests.conftest import CommandLine
from tests.integration.checkin_data import Clock
from tests.integration.web_login import log_in

VISITORS = [f"198.51.100.{number}" for number in range(1, 21)]


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 6, 1, 1, 0, tzinfo=UTC))


@pytest.fixture
def always_sweep(monkeypatch: pytest.MonkeyPatch) -> None:
    """Sweep on every new row instead of on one in 32, so that the test need not write 32 of them."""
    monkeypatch.setattr(ratelimit, "SWEEP_ONE_IN", 1)
    monkeypatch.setattr(throttle, "SWEEP_ONE_IN", 1)


def _rows(session: Session, model: type[RateLimitWindow] | type[LoginFailures]) -> list[str]:
    session.expire_all()
    return sorted(session.scalars(select(model.key)))


def _look_up(app: Flask, address: str) -> int:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client.get("/verify/A26-0000-0000.json?c=XXXX-XXXX").status_code


def test_one_time_visitors_of_the_verify_page_leave_no_row_once_their_window_has_ended(
    app: Flask, session: Session, clock: Clock, always_sweep: None
) -> None:
    for address in VISITORS:
        assert _look_up(app, address) == 200
    assert len(_rows(session, RateLimitWindow)) == len(VISITORS)

    clock.now += 2 * LONGEST_WINDOW + timedelta(minutes=1)
    assert _look_up(app, "203.0.113.7") == 200

    assert _rows(session, RateLimitWindow) == ["verify-lookup:203.0.113.7"]


def test_the_failures_of_one_time_mistypers_are_forgotten_and_their_rows_removed(
    app: Flask, session: Session, clock: Clock, always_sweep: None
) -> None:
    for address in VISITORS[:5]:
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = address
        assert log_in(client, "nobody", "not the password").status_code == 200
    assert len(_rows(session, LoginFailures)) == 6  # five addresses and the one login

    clock.now += FORGET_AFTER + timedelta(minutes=1)
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = "203.0.113.7"
    log_in(client, "someone", "not the password")

    assert _rows(session, LoginFailures) == ["ip:203.0.113.7", "login:someone"]


def test_db_prune_removes_ended_windows_and_forgotten_failures_but_keeps_live_ones(
    cli: CommandLine, session: Session
) -> None:
    now = utcnow()
    session.add_all(
        [
            RateLimitWindow(key="verify-lookup:old", window_start=now - timedelta(hours=1), hits=1),
            RateLimitWindow(key="verify-lookup:live", window_start=now - timedelta(seconds=30), hits=3),
            LoginFailures(
                key="ip:old", failures=1, last_failure_at=now - timedelta(days=2), locked_until=None
            ),
            LoginFailures(
                key="login:locked",
                failures=30,
                last_failure_at=now - timedelta(days=2),
                locked_until=now + timedelta(minutes=5),
            ),
            LoginFailures(key="ip:recent", failures=2, last_failure_at=now, locked_until=None),
        ]
    )
    session.commit()

    result = cli("db", "prune")

    assert result.exit_code == 0, result.output
    assert result.output == "1 rate_limit_windows row(s) pruned, 1 login_failures row(s) pruned\n"
    assert _rows(session, RateLimitWindow) == ["verify-lookup:live"]
    assert _rows(session, LoginFailures) == ["ip:recent", "login:locked"]
    assert session.scalar(select(func.count()).select_from(RateLimitWindow)) == 1
