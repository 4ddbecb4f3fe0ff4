"""The office's program services: symposia and lectures created, edited with versions, reordered, removed,
opened and closed, each audited; and the preview of what an edit would change, computed without a write."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal

import pytest
from marshmallow import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cme_tracker.audit.models import AuditEvent
from cme_tracker.document_kinds import KINDS
from cme_tracker.errors import Conflict, StaleVersion
from cme_tracker.program.models import Lecture, Symposium
from cme_tracker.program.services import close_past_symposia, close_symposium, open_symposium
from cme_tracker.program_office import editing
from cme_tracker.program_office.editing import LectureValues, SymposiumValues, parse_lecture, parse_symposium
from cme_tracker.program_office.impact import preview
from cme_tracker.vocabulary import SymposiumStatus
from tests.factories import attend, make_lecture, make_member, make_symposium

ACTOR = "user:office"


def _symposium_text(**overrides: str) -> dict[str, str]:
    return {
        "code": "2026-11",
        "date": "2026-11-21",
        "timezone": "Asia/Tokyo",
        "title_ja": "第6回 学術講演会",
        "title_en": "6th CME Symposium",
        "venue": "東京国際フォーラム",
        "kind": "regular",
    } | overrides


def _lecture_text(code: str = "2026-11-L1", **overrides: str) -> dict[str, str]:
    return {
        "code": code,
        "starts_at": "10:00",
        "ends_at": "11:00",
        "field": "clinical",
        "title_ja": "心不全の最新治療",
        "title_en": "Heart failure today",
        "speaker": "山本 一郎",
    } | overrides


def _events(session: Session, action: str) -> list[AuditEvent]:
    return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_a_symposium_created_from_the_office_is_scheduled_and_audited(session: Session) -> None:
    symposium = editing.create_symposium(session, parse_symposium(_symposium_text()), actor=ACTOR)
    assert symposium.status == SymposiumStatus.SCHEDULED
    assert symposium.row_version == 1
    (event,) = _events(session, "symposium.create")
    assert (event.actor, event.target) == (ACTOR, "symposium:2026-11")


def test_a_symposium_is_validated_by_the_importers_rules(session: Session) -> None:
    with pytest.raises(ValidationError) as refused:
        parse_symposium(_symposium_text(code="November", timezone="Asia/Tokio", date="2026-13-01"))
    assert set(refused.value.messages) == {"code", "timezone", "date"}
    assert "IANA" in str(refused.value.messages["timezone"])


def test_a_second_symposium_with_the_same_code_is_refused(session: Session) -> None:
    editing.create_symposium(session, parse_symposium(_symposium_text()), actor=ACTOR)
    with pytest.raises(Conflict) as refused:
        editing.create_symposium(session, parse_symposium(_symposium_text()), actor=ACTOR)
    assert refused.value.code == "symposium_exists"


def test_lectures_are_validated_like_the_program_file(session: Session) -> None:
    with pytest.raises(ValidationError) as refused:
        parse_lecture(_lecture_text(ends_at="09:00", jma_cc="85"))
    assert set(refused.value.messages) == {"ends_at", "jma_cc"}
    with pytest.raises(ValidationError) as outside:
        parse_lecture(_lecture_text(excluded="10:30-10:40; 10:50-11:10"))
    assert "outside the lecture" in str(outside.value.messages["excluded"])


def test_a_lecture_is_added_in_start_order_with_its_excluded_intervals_in_the_symposiums_zone(
    session: Session,
) -> None:
    symposium = make_symposium(session, "2026-10-TA", date(2026, 10, 3), timezone="Europe/Berlin")
    editing.add_lecture(
        session,
        symposium,
        parse_lecture(_lecture_text("2026-10-TA-L2", starts_at="13:00", ends_at="14:00")),
        actor=ACTOR,
    )
    first = editing.add_lecture(
        session,
        symposium,
        parse_lecture(_lecture_text("2026-10-TA-L1", excluded="10:30-10:40")),
        actor=ACTOR,
    )
    assert [lecture.code for lecture in editing.ordered_lectures(symposium)] == [
        "2026-10-TA-L1",
        "2026-10-TA-L2",
    ]
    assert first.starts_at.astimezone(UTC) == datetime(2026, 10, 3, 8, 0, tzinfo=UTC)
    assert [
        (e.starts_at.astimezone(UTC).time(), e.ends_at.astimezone(UTC).time()) for e in first.exclusions
    ] == [(time(8, 30), time(8, 40))]
    assert LectureValues.of(first).excluded_text == "10:30-10:40"


def test_a_lecture_code_must_start_with_its_symposiums(session: Session) -> None:
    symposium = make_symposium(session, "2026-11", date(2026, 11, 21))
    with pytest.raises(Exception) as refused:
        editing.add_lecture(session, symposium, parse_lecture(_lecture_text("2026-09-L1")), actor=ACTOR)
    assert getattr(refused.value, "details", None) == {
        "code": ["a lecture of symposium 2026-11 has a code starting 2026-11-"]
    }


def test_an_edit_of_an_old_version_is_refused_and_writes_nothing(session: Session) -> None:
    symposium = make_symposium(session, "2026-11", date(2026, 11, 21))
    lecture = make_lecture(session, symposium, "10:00", "11:00")
    current = LectureValues.of(lecture)
    editing.update_lecture(
        session, lecture, parse_lecture({"title_en": "First"}, current), actor=ACTOR, expected_version=1
    )
    assert lecture.row_version == 2
    with pytest.raises(StaleVersion) as refused:
        editing.update_lecture(
            session, lecture, parse_lecture({"title_en": "Second"}, current), actor=ACTOR, expected_version=1
        )
    assert refused.value.details == {"current_version": 2}
    assert lecture.title_en == "First"
    assert len(_events(session, "lecture.update")) == 1


def test_changing_only_the_excluded_intervals_raises_the_lectures_version(session: Session) -> None:
    symposium = make_symposium(session, "2026-11", date(2026, 11, 21))
    lecture = make_lecture(session, symposium, "10:00", "11:00")
    values = parse_lecture({"excluded": "10:30-10:40"}, LectureValues.of(lecture))
    assert editing.update_lecture(session, lecture, values, actor=ACTOR, expected_version=1) == ("excluded",)
    assert lecture.row_version == 2
    (event,) = _events(session, "lecture.update")
    assert event.details["fields"] == ["excluded"]


def test_moving_a_symposium_to_another_day_keeps_its_lectures_wall_clock_times(session: Session) -> None:
    symposium = make_symposium(session, "2026-11", date(2026, 11, 21))
    lecture = make_lecture(session, symposium, "10:00", "11:00", excluded=[("10:30", "10:40")])
    values = parse_symposium(
        {"date": "2026-11-28", "timezone": "Europe/Berlin"}, SymposiumValues.of(symposium)
    )
    changed = editing.update_symposium(session, symposium, values, actor=ACTOR, expected_version=1)
    assert set(changed) == {"held_on", "timezone"}
    assert lecture.starts_at.astimezone(UTC) == datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
    assert LectureValues.of(lecture).excluded == ((time(10, 30), time(10, 40)),)


def test_lectures_are_reordered_and_each_move_is_audited(session: Session) -> None:
    symposium = make_symposium(session, "2026-11", date(2026, 11, 21))
    first = make_lecture(session, symposium, "10:00", "11:00")
    make_lecture(session, symposium, "11:00", "12:00")
    third = make_lecture(session, symposium, "13:00", "14:00")
    assert editing.move_lecture(session, third, 1, actor=ACTOR, expected_version=third.row_version) == 1
    assert [lecture.code for lecture in editing.ordered_lectures(symposium)] == [
        "2026-11-L3",
        "2026-11-L1",
        "2026-11-L2",
    ]
    assert editing.move_lecture(session, first, 99, actor=ACTOR, expected_version=first.row_version) == 3
    assert [event.details["to"] for event in _events(session, "lecture.move")] == [1, 3]


def test_a_lecture_without_attendance_is_removed_and_the_rest_close_up(session: Session) -> None:
    symposium = make_symposium(session, "2026-11", date(2026, 11, 21))
    first = make_lecture(session, symposium, "10:00", "11:00")
    make_lecture(session, symposium, "11:00", "12:00")
    editing.remove_lecture(session, first, actor=ACTOR, expected_version=1)
    assert [(lecture.code, lecture.position) for lecture in symposium.lectures] == [("2026-11-L2", 1)]
    (event,) = _events(session, "lecture.remove")
    assert event.target == "lecture:2026-11-L1"


def test_a_lecture_with_attendance_cannot_be_removed(session: Session) -> None:
    symposium = make_symposium(session, "2026-11", date(2026, 11, 21))
    lecture = make_lecture(session, symposium, "10:00", "11:00")
    attend(session, make_member(session), lecture, "10:00", "11:00")
    with pytest.raises(Conflict) as refused:
        editing.remove_lecture(session, lecture, actor=ACTOR, expected_version=1)
    assert refused.value.code == "lecture_in_use"
    assert refused.value.details == {"attendances": 1, "scans": 0, "documents": []}
    assert session.scalar(select(func.count()).select_from(Lecture)) == 1


def test_opening_and_closing_a_symposium_is_versioned_and_audited(session: Session) -> None:
    symposium = make_symposium(session, "2026-11", date(2026, 11, 21))
    close_symposium(session, symposium, actor=ACTOR, expected_version=1)
    assert symposium.status == SymposiumStatus.CLOSED
    with pytest.raises(Conflict) as again:
        close_symposium(session, symposium, actor=ACTOR, expected_version=2)
    assert again.value.code == "already_closed"
    with pytest.raises(StaleVersion):
        open_symposium(session, symposium, actor=ACTOR, expected_version=1)
    open_symposium(session, symposium, actor=ACTOR, expected_version=2)
    assert symposium.status == SymposiumStatus.SCHEDULED
    assert [
        event.action
        for event in session.scalars(select(AuditEvent).where(AuditEvent.target == "symposium:2026-11"))
    ][-2:] == [
        "symposium.close",
        "symposium.open",
    ]


def test_closing_past_symposia_goes_through_the_same_service(session: Session) -> None:
    make_symposium(session, "2026-01", date(2026, 1, 17))
    assert close_past_symposia(session, today=date(2026, 2, 1), actor="demo") == ["2026-01"]
    assert [event.target for event in _events(session, "symposium.close")] == ["symposium:2026-01"]


def test_the_preview_of_an_earlier_end_names_the_member_and_both_amounts_and_writes_nothing(
    session: Session,
) -> None:
    symposium = make_symposium(session, "2026-11", date(2026, 11, 21))
    lecture = make_lecture(session, symposium, "10:00", "11:00")
    member = make_member(session, member_no="001001")
    attend(session, member, lecture, "10:00", "11:00")
    events_before = session.scalar(select(func.count()).select_from(AuditEvent))
    values = parse_lecture({"ends_at": "10:45"}, LectureValues.of(lecture))
    impact = preview(
        session,
        KINDS,
        symposium,
        {symposium.held_on},
        lambda: editing.write_lecture(session, lecture, values),
        lecture_code=lecture.code,
    )
    imsj = [change for change in impact.credits if change.policy == "imsj"]
    assert [(change.member_no, change.before, change.after) for change in imsj] == [
        ("001001", Decimal("1.0"), Decimal("0.5"))
    ]
    assert impact.attendees == 1
    stored = session.scalar(select(Lecture).where(Lecture.code == "2026-11-L1"))
    assert stored is not None
    assert LectureValues.of(stored).ends_at == time(11, 0)
    assert stored.row_version == 1
    assert session.scalar(select(func.count()).select_from(AuditEvent)) == events_before


def test_the_preview_of_a_change_that_earns_the_same_lists_no_credit_change(session: Session) -> None:
    symposium = make_symposium(session, "2026-11", date(2026, 11, 21))
    lecture = make_lecture(session, symposium, "10:00", "11:00")
    attend(session, make_member(session), lecture, "10:00", "11:00")
    values = parse_lecture({"ends_at": "11:10"}, LectureValues.of(lecture))
    impact = preview(
        session,
        KINDS,
        symposium,
        {symposium.held_on},
        lambda: editing.write_lecture(session, lecture, values),
    )
    assert impact.credits == ()
    assert impact.documents == ()
    assert session.scalar(select(Symposium.row_version).where(Symposium.code == "2026-11")) == 1
