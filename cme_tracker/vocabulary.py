"""The closed sets of words the society uses: CME fields, professions, roles, with labels."""

from __future__ import annotations

from enum import StrEnum


class CmeField(StrEnum):
    """Every lecture has exactly one CME field."""

    CLINICAL = "clinical"
    BASIC_MEDICINE = "basic_medicine"
    PHARMACEUTICALS = "pharmaceuticals"
    DENTISTRY = "dentistry"
    DISCOURSE = "discourse"

    @property
    def label_en(self) -> str:
        return _FIELD_LABELS[self][0]

    @property
    def label_ja(self) -> str:
        return _FIELD_LABELS[self][1]


_FIELD_LABELS = {
    CmeField.CLINICAL: ("Clinical medicine", "臨床医学"),
    CmeField.BASIC_MEDICINE: ("Basic medicine", "基礎医学"),
    CmeField.PHARMACEUTICALS: ("Pharmaceuticals", "薬学"),
    CmeField.DENTISTRY: ("Dentistry", "歯科医学"),
    CmeField.DISCOURSE: ("Discourse (humanities)", "ディスコース（人文）"),
}


class Profession(StrEnum):
    PHYSICIAN = "physician"
    DENTIST = "dentist"
    OTHER = "other"

    @property
    def label_en(self) -> str:
        return {"physician": "Physician", "dentist": "Dentist", "other": "Other"}[self.value]

    @property
    def label_ja(self) -> str:
        return {"physician": "医師", "dentist": "歯科医師", "other": "その他"}[self.value]


class Role(StrEnum):
    ADMIN = "admin"
    DESK = "desk"
    AUDITOR = "auditor"
    MEMBER = "member"


TOKEN_ROLES = (Role.DESK, Role.AUDITOR, Role.ADMIN)
"""The roles an API client (a desk device, an auditor's script, the office's automation) may hold."""


class SymposiumKind(StrEnum):
    REGULAR = "regular"
    SPECIAL = "special"


class SymposiumStatus(StrEnum):
    SCHEDULED = "scheduled"
    CLOSED = "closed"


class YearBasis(StrEnum):
    """Calendar year, or the fiscal year from 1 April YYYY to 31 March YYYY+1."""

    CALENDAR = "calendar"
    FISCAL = "fiscal"


def sql_in(values: type[StrEnum]) -> str:
    """A CHECK constraint body listing an enum's values, for a portable closed set in the database."""
    return ", ".join(f"'{member.value}'" for member in values)
