"""Test data for the check-in tests: a symposium day, members, API tokens, and a clock the tests set.

Desks may only record scans on the symposium's date, so the tests set the app's clock (``CLOCK``) and the
``now`` they hand the services to that date instead of depending on when they run. The integration tests'
conftest.py gives each of them a :class:`Clock` and the :class:`Day`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cme_tracker.accounts.tokens import create_client
from cme_tracker.attendance.models import Attendance, Scan
from cme_tracker.audit.models import AuditEvent
from cme_tracker.db import utcnow
from cme_tracker.members.models import Member
from cme_tracker.program.models import Lecture, Symposium
from cme_tracker.vocabulary import Role
from tests.factories import make_lecture, make_member, make_symposium, tokyo
from tests.integration.web_login import csrf_token, log_in, make_login

DAY = date(2026, 5, 16)
SECRET = "test-secret"
"""The app's SECRET_KEY in tests (conftest), which signs member cards."""


class Clock:
    """What the app (its ``CLOCK``) and the tests' service calls take as "now": the real time until a test
    sets it, then that time until the test moves it."""

    def __init__(self, now: datetime | None = None) -> None:
        self._now = now

    @property
    def now(self) -> datetime:
        return utcnow() if self._now is None else self._now

    @now.setter
    def now(self, now: datetime) -> None:
        self._now = now

    def __call__(self) -> datetime:
        return self.now

    def at(self, hhmm: str, day: date = DAY) -> datetime:
        self.now = tokyo(day, hhmm)
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@dataclass
class Day:
    """Symposium 2026-05 on DAY (four lectures), another symposium, and three members."""

    symposium: Symposium
    lectures: list[Lecture]
    other_symposium: Symposium
    other_lecture: Lecture
    members: list[Member]


def make_day(session: Session) -> Day:
    symposium = make_symposium(session, "2026-05", DAY)
    lectures = [
        make_lecture(session, symposium, "09:30", "10:30", "clinical"),
        make_lecture(session, symposium, "10:45", "12:15", "basic_medicine"),
        make_lecture(session, symposium, "13:00", "14:00", "pharmaceuticals"),
        make_lecture(session, symposium, "14:15", "17:00", "discourse"),
    ]
    other = make_symposium(session, "2026-07", date(2026, 7, 18))
    other_lecture = make_lecture(session, other, "10:00", "11:00")
    members = [
        make_member(session, member_no="001001", family_name="山田", given_name="太郎"),
        make_member(
            session,
            member_no="001002",
            profession="dentist",
            family_name="佐藤",
            given_name="花子",
            family_name_kana="サトウ",
            given_name_kana="ハナコ",
            family_name_romaji="Sato",
            given_name_romaji="Hanako",
            medical_registry_no=None,
            dental_registry_no="D12345",
        ),
        make_member(
            session,
            member_no="001003",
            family_name="Müller",
            given_name="Anna",
            family_name_kana=None,
            given_name_kana=None,
            family_name_romaji="Mueller",
            given_name_romaji="Anna",
            country="DE",
        ),
    ]
    session.commit()
    return Day(symposium, lectures, other, other_lecture, members)


def api_token(session: Session, name: str = "desk-1", role: Role = Role.DESK) -> str:
    _client, token = create_client(session, name=name, role=role, actor="test")
    session.commit()
    return token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def logged_in(
    client: FlaskClient, session: Session, login: str, *roles: Role, member: Member | None = None
) -> dict[str, str]:
    """Log ``client`` in with a new user; the CSRF header the desk page sends with its API calls."""
    make_login(session, login, *roles, member=member)
    log_in(client, login)
    return {"X-CSRFToken": csrf_token(client, "/")}


def row_counts(session: Session) -> dict[str, int]:
    """What a refused request must leave as it was."""
    session.expire_all()
    return {
        model.__tablename__: session.scalar(select(func.count()).select_from(model)) or 0
        for model in (Attendance, Scan, AuditEvent)
    }


def live_attendances(session: Session, member: Member) -> list[Attendance]:
    session.expire_all()
    return list(
        session.scalars(
            select(Attendance)
            .where(Attendance.member_id == member.id, Attendance.voided_at.is_(None))
            .order_by(Attendance.check_in_at)
        )
    )


def checkin(**fields: Any) -> dict[str, Any]:
    """A check-in body with defaults: member 001001 into the first lecture."""
    body: dict[str, Any] = {"member_no": "001001", "lecture_code": "2026-05-L1", "direction": "in"}
    body.update(fields)
    return {key: value for key, value in body.items() if value is not None}
