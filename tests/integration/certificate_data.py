"""A small symposium with attendees of every kind, for the certificate tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from cme_tracker.members.models import Member
from cme_tracker.program.models import Symposium
from cme_tracker.vocabulary import CmeField
from tests.factories import attend, make_lecture, make_member, make_symposium, tokyo


@dataclass
class CertificateYear:
    symposium: Symposium
    physician: Member
    dentist: Member
    german: Member
    whole_day: Member
    too_short: Member
    voided: Member

    @property
    def eligible(self) -> list[Member]:
        return [self.physician, self.dentist, self.german, self.whole_day]


def certificate_year(session: Session, code: str = "2026-05") -> CertificateYear:
    """Three lectures; four members who earned credits, one who stayed too briefly, one voided."""
    symposium = make_symposium(session, code, date(2026, 5, 16), title_ja="第600回 学術講演会", venue="東京")
    clinical = make_lecture(
        session,
        symposium,
        "09:30",
        "10:30",
        CmeField.CLINICAL.value,
        jma_cc="43",
        title_ja="心不全の最新治療",
        title_en="Heart failure today",
    )
    dental = make_lecture(
        session,
        symposium,
        "10:45",
        "11:45",
        CmeField.DENTISTRY.value,
        jda_code="2101",
        title_ja="歯周病と全身疾患",
        title_en="Periodontitis and systemic disease",
    )
    discourse = make_lecture(
        session,
        symposium,
        "13:00",
        "14:00",
        CmeField.DISCOURSE.value,
        jma_cc="0",
        title_ja="医と言葉",
        title_en="Medicine and language",
    )
    physician = make_member(
        session,
        family_name="髙橋",
        given_name="𠮷郎",
        family_name_kana="タカハシ",
        given_name_kana="ヨシロウ",
        family_name_romaji="Takahashi",
        given_name_romaji="Yoshiro",
        former_family_name="山﨑",
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
    whole_day = make_member(
        session,
        family_name="鈴木",
        given_name="一郎",
        family_name_romaji="Suzuki",
        given_name_romaji="Ichiro",
    )
    too_short = make_member(
        session, family_name="田中", given_name="次郎", family_name_romaji="Tanaka", given_name_romaji="Jiro"
    )
    voided = make_member(
        session, family_name="伊藤", given_name="三郎", family_name_romaji="Ito", given_name_romaji="Saburo"
    )
    attend(session, physician, clinical, "09:25", "10:31")
    attend(session, physician, discourse, "12:55", "14:02")
    attend(session, dentist, dental, "10:40", "11:50")
    attend(session, german, clinical, "09:20", "10:35")
    attend(session, german, dental, "10:44", "11:46")
    attend(session, whole_day, symposium, "09:00", "15:00")
    attend(session, too_short, clinical, "10:25", "10:30")
    attend(
        session,
        voided,
        clinical,
        "09:25",
        "10:31",
        voided_at=tokyo(symposium.held_on, "12:00"),
        voided_by="admin",
        void_reason="scanned the wrong card",
    )
    return CertificateYear(symposium, physician, dentist, german, whole_day, too_short, voided)
