"""Test data: members, symposia and lectures with sensible defaults that each test overrides as it needs."""

from __future__ import annotations

import itertools
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from cme_tracker.attendance.models import Attendance
from cme_tracker.documents.models import Certificate, CertificateKind
from cme_tracker.members.models import Member
from cme_tracker.members.services import member_search_key
from cme_tracker.program.models import Lecture, LectureExclusion, Symposium
from cme_tracker.vocabulary import YearBasis

TOKYO = ZoneInfo("Asia/Tokyo")
_numbers = itertools.count(1)


def tokyo(day: date, hhmm: str) -> datetime:
    hours, minutes = map(int, hhmm.split(":"))
    return datetime.combine(day, time(hours, minutes), tzinfo=TOKYO)


def make_member(session: Session, **overrides: Any) -> Member:
    number = next(_numbers)
    values: dict[str, Any] = {
        "member_no": f"T{number:06d}",
        "profession": "physician",
        "family_name": "山田",
        "given_name": "太郎",
        "family_name_kana": "ヤマダ",
        "given_name_kana": "タロウ",
        "family_name_romaji": "Yamada",
        "given_name_romaji": "Taro",
        "medical_registry_no": f"{400000 + number}",
    }
    values.update(overrides)
    member = Member(**values)
    member.search_key = member_search_key(member)
    session.add(member)
    session.flush()
    return member


def make_symposium(
    session: Session, code: str = "2026-05", held_on: date = date(2026, 5, 16), **overrides: Any
) -> Symposium:
    values: dict[str, Any] = {
        "code": code,
        "held_on": held_on,
        "title_ja": f"第{next(_numbers)}回 学術講演会",
        "title_en": "CME Symposium",
        "venue": "東京",
    }
    values.update(overrides)
    symposium = Symposium(**values)
    session.add(symposium)
    session.flush()
    return symposium


def make_lecture(
    session: Session,
    symposium: Symposium,
    starts: str,
    ends: str,
    field: str = "clinical",
    *,
    excluded: list[tuple[str, str]] | None = None,
    **overrides: Any,
) -> Lecture:
    position = len(symposium.lectures) + 1
    zone = ZoneInfo(symposium.timezone)
    day = symposium.held_on
    values: dict[str, Any] = {
        "code": f"{symposium.code}-L{position}",
        "position": position,
        "starts_at": datetime.combine(day, time.fromisoformat(starts), tzinfo=zone),
        "ends_at": datetime.combine(day, time.fromisoformat(ends), tzinfo=zone),
        "field": field,
        "title_ja": "講演",
        "title_en": "Lecture",
        "speaker": "講師 一郎",
    }
    values.update(overrides)
    lecture = Lecture(symposium=symposium, **values)
    for start, end in excluded or []:
        lecture.exclusions.append(
            LectureExclusion(
                starts_at=datetime.combine(day, time.fromisoformat(start), tzinfo=zone),
                ends_at=datetime.combine(day, time.fromisoformat(end), tzinfo=zone),
            )
        )
    session.add(lecture)
    session.flush()
    return lecture


def attend(
    session: Session,
    member: Member,
    target: Lecture | Symposium,
    check_in: str,
    check_out: str | None = None,
    **overrides: Any,
) -> Attendance:
    """An attendance at a lecture, or at a whole symposium, with times as HH:MM on the symposium's day."""
    symposium = target if isinstance(target, Symposium) else target.symposium
    zone = ZoneInfo(symposium.timezone)
    day = symposium.held_on
    attendance = Attendance(
        member=member,
        symposium=symposium,
        lecture=target if isinstance(target, Lecture) else None,
        check_in_at=datetime.combine(day, time.fromisoformat(check_in), tzinfo=zone),
        check_out_at=datetime.combine(day, time.fromisoformat(check_out), tzinfo=zone) if check_out else None,
        **overrides,
    )
    session.add(attendance)
    session.flush()
    return attendance


def make_certificate(
    session: Session, member: Member, symposium: Symposium | None = None, **overrides: Any
) -> Certificate:
    """A certificate row (no file): of attendance at ``symposium``, or a transcript of ``year`` when none."""
    number = next(_numbers)
    values: dict[str, Any] = {
        "serial": f"A26-TEST-{number:04d}",
        "kind": CertificateKind.ATTENDANCE if symposium is not None else CertificateKind.TRANSCRIPT,
        "member_id": member.id,
        "symposium_id": symposium.id if symposium is not None else None,
        "year": None if symposium is not None else 2026,
        "year_basis": None if symposium is not None else YearBasis.CALENDAR,
        "revision": 1,
        "content": {},
        "policy_versions": [],
        "sha256": "0" * 64,
        "file_path": f"certificates/test/{number}.pdf",
        "verification_code": "TESTCODE",
        "issued_by": "test",
    }
    values.update(overrides)
    certificate = Certificate(**values)
    session.add(certificate)
    session.flush()
    return certificate
