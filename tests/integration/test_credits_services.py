"""The database side of credits: presets, the policy versions in force, and the bulk yearly computation."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from cme_tracker.attendance.models import Attendance
from cme_tracker.audit.models import AuditEvent
from cme_tracker.credits.minutes import epoch_micros
from cme_tracker.credits.models import CreditPolicyVersion
from cme_tracker.credits.presets import IMSJ, PRESETS, install_presets, policies_in_force
from cme_tracker.credits.services import member_credits, yearly_credits
from cme_tracker.credits.statements import EpochMicros
from cme_tracker.db import utcnow
from cme_tracker.vocabulary import YearBasis
from tests.factories import TOKYO, attend, make_lecture, make_member, make_symposium


def add_version(
    session: Session, code: str, version: str, effective_from: date, *, enabled: bool = True
) -> None:
    parameters = IMSJ.to_parameters() | {"unit_value": "1"}
    session.add(
        CreditPolicyVersion(
            code=code, version=version, effective_from=effective_from, enabled=enabled, parameters=parameters
        )
    )
    session.flush()


def test_presets_are_installed_once_with_an_audit_event_each(session: Session) -> None:
    assert install_presets(session, actor="test") == []
    session.execute(update(CreditPolicyVersion).values(version="2025.9"))
    assert install_presets(session, actor="someone") == [f"{preset.code} 2026.1" for preset in PRESETS]
    events = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "policy.install", AuditEvent.actor == "someone")
    ).all()
    assert [event.target for event in events] == [f"policy:{preset.code}:2026.1" for preset in PRESETS]
    assert events[0].details["parameters"]["unit_value"] == "0.5"
    assert install_presets(session, actor="someone") == []


def test_a_new_preset_version_of_a_disabled_policy_stays_disabled(session: Session) -> None:
    session.execute(
        update(CreditPolicyVersion)
        .where(CreditPolicyVersion.code == "jma")
        .values(version="2025.9", enabled=False)
    )
    install_presets(session, actor="test")
    installed = session.scalar(
        select(CreditPolicyVersion).where(
            CreditPolicyVersion.code == "jma", CreditPolicyVersion.version == "2026.1"
        )
    )
    assert installed is not None
    assert not installed.enabled


def test_the_latest_version_effective_on_the_date_is_in_force(session: Session) -> None:
    add_version(session, "imsj", "2027.1", date(2027, 1, 1))
    assert {policy.code: policy.version for policy in policies_in_force(session, date(2026, 12, 31))}[
        "imsj"
    ] == ("2026.1")
    in_2027 = {policy.code: policy for policy in policies_in_force(session, date(2027, 1, 1))}
    assert in_2027["imsj"].version == "2027.1"
    assert in_2027["imsj"].unit_value == Decimal(1)
    assert list(in_2027) == ["imsj", "jma", "jda", "de-cme"]


def test_disabling_the_current_version_switches_the_policy_off(session: Session) -> None:
    session.execute(
        update(CreditPolicyVersion).where(CreditPolicyVersion.code == "jda").values(enabled=False)
    )
    assert "jda" not in {policy.code for policy in policies_in_force(session, date(2026, 6, 1))}


def test_results_name_the_version_in_force_at_the_end_of_the_year(session: Session) -> None:
    add_version(session, "imsj", "2026.2", date(2026, 10, 1))
    member = make_member(session, profession="other", medical_registry_no=None)
    symposium = make_symposium(session)
    attend(session, member, make_lecture(session, symposium, "10:00", "11:00"), "10:00", "11:00")
    calendar = member_credits(session, member, 2026, YearBasis.CALENDAR)
    assert calendar.policies["imsj"].version == "2026.2"
    assert calendar.policies["imsj"].total == 2
    assert member_credits(session, member, 2025, YearBasis.FISCAL).policies["imsj"].version == "2026.1"


def test_member_credits_lists_each_lecture_with_titles_minutes_and_awards(session: Session) -> None:
    member = make_member(session, profession="physician", medical_registry_no="500002")
    symposium = make_symposium(session, "2026-07", date(2026, 7, 18))
    lecture = make_lecture(
        session,
        symposium,
        "10:00",
        "11:00",
        "clinical",
        jma_cc="12",
        title_ja="感染症",
        title_en="Infections",
    )
    attend(session, member, lecture, "10:10", "11:00")
    credits = member_credits(session, member, 2026, YearBasis.CALENDAR)
    [line] = credits.lines
    assert (line.symposium_code, line.symposium_date, line.lecture_code) == (
        "2026-07",
        date(2026, 7, 18),
        lecture.code,
    )
    assert (line.title_ja, line.title_en, line.minutes) == ("感染症", "Infections", 50)
    assert line.awards["imsj"].amount == Decimal("0.5")
    assert line.awards["jma"].code == "12"


def test_bulk_yearly_credits_agree_with_each_members_own_computation(session: Session) -> None:
    physician = make_member(session, profession="physician", medical_registry_no="500003")
    dentist = make_member(session, profession="dentist", medical_registry_no=None, dental_registry_no="D9")
    german = make_member(session, profession="physician", medical_registry_no=None, efn="123456789012347")
    absent = make_member(session, profession="other", medical_registry_no=None)
    may = make_symposium(session, "2026-05", date(2026, 5, 16))
    july = make_symposium(session, "2026-07", date(2026, 7, 18))
    may_lectures = [
        make_lecture(session, may, "10:00", "11:00", "clinical", jma_cc="8"),
        make_lecture(
            session, may, "11:10", "12:40", "dentistry", jda_code="2301", excluded=[("12:00", "12:10")]
        ),
        make_lecture(session, may, "14:00", "14:45", "discourse"),
    ]
    july_lecture = make_lecture(session, july, "10:00", "11:30", "basic_medicine", jma_cc="43")
    attend(session, physician, may, "10:05", "12:00")
    attend(session, physician, may_lectures[2], "14:00")
    attend(session, physician, july_lecture, "10:00", "11:30")
    attend(session, dentist, may_lectures[1], "11:20", "12:40")
    attend(session, dentist, may_lectures[1], "11:10", "11:30")
    attend(session, german, may, "09:50")
    attend(session, german, july, "10:00", "11:30", voided_at=utcnow(), voided_by="admin", void_reason="test")

    bulk = {credits.member_no: credits for credits in yearly_credits(session, 2026, YearBasis.CALENDAR)}

    assert set(bulk) == {physician.member_no, dentist.member_no, german.member_no}
    assert absent.member_no not in bulk
    for member in (physician, dentist, german):
        assert (
            bulk[member.member_no].policies
            == member_credits(session, member, 2026, YearBasis.CALENDAR).policies
        )
    assert bulk[physician.member_no].policies["jma"].codes == ("43", "8")
    assert bulk[dentist.member_no].policies["jda"].total == 3
    assert bulk[german.member_no].policies["de-cme"].total == 2


def test_database_computes_the_same_epoch_microseconds_as_python(session: Session) -> None:
    """The bulk query reads times as integers computed in SQL: they must be exact to the microsecond."""
    member = make_member(session)
    symposium = make_symposium(session)
    moments = [
        datetime(2026, 5, 16, 1, 10, tzinfo=UTC),
        datetime(2026, 5, 16, 1, 10, 59, 999_999, tzinfo=UTC),
        datetime(2026, 5, 16, 1, 11, 0, 1, tzinfo=UTC),
        datetime(2026, 5, 16, 10, 30, 15, 500_000, tzinfo=UTC).astimezone(TOKYO),
        datetime(1999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
    ]
    for moment in moments:
        session.add(
            Attendance(
                member=member, symposium=symposium, check_in_at=moment, check_out_at=moment + timedelta(1)
            )
        )
    session.add(Attendance(member=member, symposium=symposium, check_in_at=moments[0]))
    session.flush()
    rows = session.execute(
        select(EpochMicros(Attendance.check_in_at), EpochMicros(Attendance.check_out_at))
        .where(Attendance.member_id == member.id)
        .order_by(Attendance.id)
    ).all()
    expected = [(epoch_micros(moment), epoch_micros(moment + timedelta(1))) for moment in moments]
    assert [tuple(row) for row in rows] == [*expected, (epoch_micros(moments[0]), None)]
