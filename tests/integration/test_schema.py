"""The schema guarantees what the code relies on, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.orm import Session

from cme_tracker.db import Database
from cme_tracker.migrate import differences, upgrade
from cme_tracker.program.models import Symposium
from cme_tracker.vocabulary import SymposiumKind, SymposiumStatus
from tests.conftest import TEST_AUDIT_KEY
from tests.factories import attend, make_lecture, make_member, make_symposium


def test_second_open_attendance_for_same_member_and_lecture_is_refused_by_the_database(
    session: Session,
) -> None:
    member = make_member(session)
    lecture = make_lecture(session, make_symposium(session), "10:00", "11:00")
    attend(session, member, lecture, "10:00")
    with pytest.raises(IntegrityError):
        attend(session, member, lecture, "10:05")


def test_second_open_whole_day_attendance_is_refused_by_the_database(session: Session) -> None:
    member = make_member(session)
    symposium = make_symposium(session)
    attend(session, member, symposium, "09:30")
    with pytest.raises(IntegrityError):
        attend(session, member, symposium, "09:40")


def test_member_who_checked_out_may_come_back_and_voided_rows_do_not_block(session: Session) -> None:
    member = make_member(session)
    lecture = make_lecture(session, make_symposium(session), "10:00", "11:00")
    attend(session, member, lecture, "10:00", "10:20")
    attend(session, member, lecture, "10:30", voided_at=datetime.now(UTC), void_reason="wrong person")
    attend(session, member, lecture, "10:31")


def test_open_lecture_and_open_whole_day_attendance_may_coexist(session: Session) -> None:
    member = make_member(session)
    symposium = make_symposium(session)
    lecture = make_lecture(session, symposium, "10:00", "11:00")
    attend(session, member, symposium, "09:30")
    attend(session, member, lecture, "10:00")


def test_check_out_before_check_in_is_refused(session: Session) -> None:
    member = make_member(session)
    lecture = make_lecture(session, make_symposium(session), "10:00", "11:00")
    with pytest.raises(IntegrityError):
        attend(session, member, lecture, "10:30", "10:00")


def test_times_come_back_timezone_aware_in_utc(session: Session) -> None:
    symposium = make_symposium(session)
    lecture = make_lecture(session, symposium, "10:00", "11:00")
    session.expire_all()
    starts_at = session.get(type(lecture), lecture.id).starts_at  # type: ignore[union-attr]
    assert starts_at.tzinfo is not None
    assert starts_at.utcoffset() == timedelta(0)
    assert starts_at == datetime(2026, 5, 16, 1, 0, tzinfo=UTC)
    assert starts_at.astimezone(timezone(timedelta(hours=9))).hour == 10


def test_naive_datetime_is_refused(session: Session) -> None:
    symposium = make_symposium(session)
    with pytest.raises(StatementError, match="naive datetime"):
        make_lecture(session, symposium, "10:00", "11:00", starts_at=datetime(2026, 5, 16, 10, 0))


def test_enum_columns_take_a_member_or_its_value_and_give_back_the_member(session: Session) -> None:
    symposium = make_symposium(session, kind="special", status=SymposiumStatus.CLOSED)
    assert symposium.kind is SymposiumKind.SPECIAL, "an assigned value's string is held as its member"
    session.expire_all()
    found = session.get(Symposium, symposium.id)
    assert found is not None
    assert type(found.kind) is SymposiumKind and found.kind is SymposiumKind.SPECIAL
    assert type(found.status) is SymposiumStatus and found.status is SymposiumStatus.CLOSED
    stored = session.execute(text("SELECT kind, status FROM symposia WHERE id = :id"), {"id": symposium.id})
    assert tuple(stored.one()) == ("special", "closed")
    closed = select(Symposium.id).where(Symposium.status == "closed", Symposium.kind == SymposiumKind.SPECIAL)
    assert session.scalars(closed).all() == [symposium.id]


@pytest.mark.parametrize("wrong", ["cancelled", "CLOSED", SymposiumKind.REGULAR])
def test_enum_columns_refuse_what_is_not_their_enum_before_the_database_sees_it(
    session: Session, wrong: str
) -> None:
    symposium = make_symposium(session)
    symposium.status = wrong  # type: ignore[assignment]
    with pytest.raises(StatementError, match="is not a SymposiumStatus"):
        session.flush()


def test_db_check_finds_a_database_that_drifted_from_the_models(fresh_database_url: str) -> None:
    database = Database.connect(fresh_database_url, TEST_AUDIT_KEY)
    upgrade(database.engine)
    assert differences(database.engine) == []
    with database.engine.begin() as connection:
        connection.execute(text("DROP INDEX ix_members_search_key"))
    found = differences(database.engine)
    database.engine.dispose()
    assert any("ix_members_search_key" in str(difference) for difference in found)


def test_db_check_reports_a_database_behind_the_newest_migration(fresh_database_url: str) -> None:
    database = Database.connect(fresh_database_url, TEST_AUDIT_KEY)
    found = differences(database.engine)
    database.engine.dispose()
    assert found and "revision" in str(found[0])
