"""Login throttling: after a few failures a login or address is locked, growing exponentially, before any
password hash is checked; an administrator can unlock a login."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from argon2 import PasswordHasher
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from cme_tracker.accounts.throttle import ACCOUNT_FAILURES, ADDRESS_FAILURES, LoginFailures
from cme_tracker.audit.models import AuditEvent
from cme_tracker.vocabulary import Role
from tests.conftest import CommandLine
from tests.integration.checkin_data import Clock
from tests.integration.web_login import log_in, make_login

WRONG = "not the password"


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 6, 1, 1, 0, tzinfo=UTC))


@pytest.fixture
def hash_checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every argon2 verification or hashing asked for, by name (the class is patched: it has slots)."""
    checks: list[str] = []

    def counting(name: str, original: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            checks.append(name)
            return original(*args, **kwargs)

        return call

    for name in ("verify", "hash"):
        monkeypatch.setattr(PasswordHasher, name, counting(name, getattr(PasswordHasher, name)))
    return checks


def _from(client: FlaskClient, address: str) -> FlaskClient:
    client.environ_base["REMOTE_ADDR"] = address
    return client


def _actions(session: Session, *actions: str) -> list[str]:
    query = select(AuditEvent.action).where(AuditEvent.action.in_(actions)).order_by(AuditEvent.sequence)
    return list(session.scalars(query))


def test_200_wrong_passwords_from_one_address_check_only_a_handful(
    client: FlaskClient, session: Session, clock: Clock, hash_checks: list[str]
) -> None:
    make_login(session, "tanaka", Role.DESK)
    hash_checks.clear()
    client.set_cookie("lang", "en")
    answers = [log_in(_from(client, "203.0.113.9"), "tanaka", WRONG) for _ in range(200)]
    assert len(hash_checks) == ACCOUNT_FAILURES
    assert [answer.status_code for answer in answers[:ACCOUNT_FAILURES]] == [200] * ACCOUNT_FAILURES
    assert {answer.status_code for answer in answers[ACCOUNT_FAILURES:]} == {429}
    assert "Please try again in 1 minute(s)." in answers[-1].get_data(as_text=True)
    assert log_in(client, "tanaka").status_code == 429  # the right password waits too
    clock.now += timedelta(minutes=1, seconds=1)
    assert log_in(client, "tanaka").headers["Location"] == "/home"
    assert _actions(session, "login.failed", "login.locked") == ["login.locked"]


def test_200_wrong_passwords_from_many_addresses_check_only_a_handful(
    client: FlaskClient, session: Session, clock: Clock, hash_checks: list[str]
) -> None:
    make_login(session, "tanaka", Role.DESK)
    hash_checks.clear()
    answers = [log_in(_from(client, f"198.51.100.{number}"), "tanaka", WRONG) for number in range(200)]
    assert len(hash_checks) == ACCOUNT_FAILURES
    assert answers[-1].status_code == 429
    clock.now += timedelta(minutes=2)
    assert log_in(_from(client, "192.0.2.1"), "tanaka").headers["Location"] == "/home"


def test_each_failure_after_a_lock_doubles_it(client: FlaskClient, session: Session, clock: Clock) -> None:
    make_login(session, "tanaka", Role.DESK)
    client.set_cookie("lang", "en")
    for _ in range(ACCOUNT_FAILURES):
        log_in(client, "tanaka", WRONG)
    clock.now += timedelta(minutes=1, seconds=1)
    assert log_in(client, "tanaka", WRONG).status_code == 200  # checked again, and wrong again
    locked = log_in(client, "tanaka")
    assert locked.status_code == 429
    assert "Please try again in 2 minute(s)." in locked.get_data(as_text=True)
    assert _actions(session, "login.locked") == ["login.locked", "login.locked"]


def test_unknown_logins_are_locked_alike_and_an_address_trying_many_logins_is_locked(
    client: FlaskClient, session: Session, hash_checks: list[str]
) -> None:
    make_login(session, "tanaka", Role.DESK)
    hash_checks.clear()
    for number in range(ADDRESS_FAILURES):
        assert log_in(client, f"guess{number}", WRONG).status_code == 200
    assert log_in(client, "tanaka").status_code == 429
    assert log_in(_from(client, "192.0.2.1"), "tanaka").headers["Location"] == "/home"
    assert len(hash_checks) == ADDRESS_FAILURES + 1
    assert _actions(session, "login.locked") == []  # no account of those names exists


def test_the_wait_is_told_in_japanese(client: FlaskClient, session: Session) -> None:
    for _ in range(ACCOUNT_FAILURES + 1):
        answer = log_in(client, "tanaka", WRONG)
    assert "1分後にもう一度お試しください" in answer.get_data(as_text=True)


def test_an_administrator_unlocks_a_login(client: FlaskClient, session: Session, cli: CommandLine) -> None:
    make_login(session, "tanaka", Role.DESK)
    for _ in range(ACCOUNT_FAILURES):
        log_in(client, "tanaka", WRONG)
    assert log_in(client, "tanaka").status_code == 429
    result = cli("users", "unlock", "tanaka")
    assert result.exit_code == 0, result.output
    assert "unlocked tanaka" in result.output
    assert log_in(client, "tanaka").headers["Location"] == "/home"
    assert _actions(session, "login.locked", "login.unlocked") == ["login.locked", "login.unlocked"]
    assert cli("users", "unlock", "nobody").exit_code == 1


def test_the_lock_stops_growing_at_an_hour_however_many_failures_there_were(
    client: FlaskClient, session: Session, clock: Clock
) -> None:
    make_login(session, "tanaka", Role.DESK)
    session.add(LoginFailures(key="login:tanaka", failures=10_000, last_failure_at=clock.now))
    session.commit()
    client.set_cookie("lang", "en")
    assert log_in(client, "tanaka", WRONG).status_code == 200
    locked = log_in(client, "tanaka")
    assert locked.status_code == 429
    assert "Please try again in 60 minute(s)." in locked.get_data(as_text=True)
    clock.now += timedelta(hours=1, seconds=1)
    assert log_in(client, "tanaka").headers["Location"] == "/home"
