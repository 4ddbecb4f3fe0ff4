"""Three years of symposia around the turns of the calendar (1 January) and fiscal (1 April) years, and
members of every kind, for the transcript tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from cme_tracker.members.models import Member
from cme_tracker.program.models import Lecture, Symposium
from tests.factories import attend, make_lecture, make_member, make_symposium


@dataclass
class TranscriptYears:
    physician: Member
    dentist: Member
    german: Member
    latin: Member
    """A physician without kanji, with a medical registry number (JMA) and no EFN."""
    bystander: Member
    """Attended too briefly to earn anything."""

    @property
    def credited_in_2026(self) -> list[Member]:
        return [self.physician, self.dentist, self.german, self.latin]


def _symposium(session: Session, code: str, held_on: date, **overrides: str) -> Symposium:
    return make_symposium(
        session, code, held_on, title_ja=f"{code} 学術講演会", title_en=f"Symposium {code}", **overrides
    )


def _lectures(session: Session, symposium: Symposium, codes: tuple[str, str]) -> tuple[Lecture, Lecture]:
    clinical = make_lecture(
        session,
        symposium,
        "10:00",
        "11:00",
        "clinical",
        jma_cc=codes[0],
        jda_code="2101",
        title_ja=f"{symposium.code} 臨床講演",
        title_en=f"Clinical lecture {symposium.code}",
    )
    basic = make_lecture(
        session,
        symposium,
        "13:00",
        "14:30",
        "basic_medicine",
        jma_cc=codes[1],
        title_ja=f"{symposium.code} 基礎講演",
        title_en=f"Basic lecture {symposium.code}",
    )
    return clinical, basic


def transcript_years(session: Session) -> TranscriptYears:
    """Symposia in May 2024, May 2025, November 2025, January, March and April 2026, and November 2026."""
    physician = make_member(
        session,
        family_name="髙橋",
        given_name="𠮷郎",
        family_name_romaji="Takahashi",
        given_name_romaji="Yoshiro",
    )
    dentist = make_member(
        session,
        profession="dentist",
        family_name="佐藤",
        given_name="花子",
        family_name_romaji="Sato",
        given_name_romaji="Hanako",
        medical_registry_no=None,
        dental_registry_no="D12345",
    )
    german = make_member(
        session,
        family_name="Müller",
        given_name="Łukasz",
        family_name_kana=None,
        given_name_kana=None,
        family_name_romaji="Müller",
        given_name_romaji="Łukasz",
        medical_registry_no=None,
        efn="276123456789012",
        country="DE",
    )
    latin = make_member(
        session,
        family_name="Smith",
        given_name="Anne",
        family_name_kana=None,
        given_name_kana=None,
        family_name_romaji="Smith",
        given_name_romaji="Anne",
        country="GB",
    )
    bystander = make_member(
        session, family_name="田中", given_name="次郎", family_name_romaji="Tanaka", given_name_romaji="Jiro"
    )
    program = {
        "2024-05": (date(2024, 5, 18), ("1", "8")),
        "2025-05": (date(2025, 5, 17), ("8", "10")),
        "2025-11": (date(2025, 11, 15), ("12", "15")),
        "2026-01": (date(2026, 1, 17), ("43", "72")),
        "2026-03": (date(2026, 3, 14), ("43", "29")),
        "2026-04": (date(2026, 4, 11), ("73", "80")),
        "2026-11": (date(2026, 11, 14), ("8", "82")),
    }
    lectures = {
        code: _lectures(session, _symposium(session, code, held_on), codes)
        for code, (held_on, codes) in program.items()
    }
    for code, (clinical, basic) in lectures.items():
        attend(session, physician, clinical, "09:55", "11:00")
        if code != "2026-11":
            attend(session, physician, basic, "13:00", "14:10")  # 70 minutes: one hour's credit
    for code in ("2025-11", "2026-01", "2026-03", "2026-04"):
        clinical, basic = lectures[code]
        attend(session, dentist, clinical, "10:00", "10:50")
        attend(session, german, basic.symposium, "09:00", "15:00")
        attend(session, latin, basic, "13:20", "14:30")
    attend(session, bystander, lectures["2026-03"][0], "10:50", "11:00")
    return TranscriptYears(physician, dentist, german, latin, bystander)
