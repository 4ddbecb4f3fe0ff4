"""A credit policy as data: the parameters of one scheme's rules, stored as JSON beside its code and version.

The rules themselves live in :mod:`cme_tracker.credits.engine`; a policy only says how they are tuned, so that
an officer can add a version with an effective date without a code change.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, TypeVar

from cme_tracker.vocabulary import CmeField, Profession

_Choice = TypeVar("_Choice", bound=StrEnum)


class RegistryNumber(StrEnum):
    """The registry number a member must hold for a policy to apply (``none``: no number needed)."""

    NONE = "none"
    MEDICAL = "medical_registry_no"
    DENTAL = "dental_registry_no"
    EFN = "efn"


class UnitBasis(StrEnum):
    """What the minutes per unit count: the member's minutes, or the creditable length of the lecture."""

    MINUTES_ATTENDED = "minutes_attended"
    LECTURE_LENGTH = "lecture_length"


class LectureCode(StrEnum):
    """A scheme code a lecture carries and a member earns with its credits."""

    JMA_CC = "jma_cc"
    JDA_CODE = "jda_code"


@dataclass(frozen=True)
class RemainderRule:
    """Extra ``value`` when the minutes left over after the full units reach ``from_minutes`` (JDA: 20)."""

    from_minutes: int
    value: Decimal


@dataclass(frozen=True)
class Caps:
    """Most a member earns per lecture, per day and per year; the day and year caps apply in lecture order."""

    per_lecture: Decimal | None = None
    per_day: Decimal | None = None
    per_year: Decimal | None = None


@dataclass(frozen=True)
class MultiYearRequirement:
    """What a member must reach over ``years`` consecutive years (the year of a transcript and those before).

    Each threshold left None is not required. The JMA-style rule: over three years, units plus distinct
    curriculum codes at least 60 (``combined``); a code earned twice counts once.
    """

    years: int
    units: Decimal | None = None
    distinct_codes: int | None = None
    combined: Decimal | None = None

    def __post_init__(self) -> None:
        if self.years < 1:
            raise ValueError("a multi-year requirement spans at least one year")
        if self.units is None and self.distinct_codes is None and self.combined is None:
            raise ValueError("a multi-year requirement needs at least one threshold")

    def met(self, units: Decimal, distinct_codes: int) -> bool:
        """Whether ``units`` and ``distinct_codes`` over the span reach every threshold set."""
        return (
            (self.units is None or units >= self.units)
            and (self.distinct_codes is None or distinct_codes >= self.distinct_codes)
            and (self.combined is None or units + distinct_codes >= self.combined)
        )


@dataclass(frozen=True)
class CreditPolicy:
    """One version of one scheme's parameters.

    ``full_attendance_tolerance`` set means a lecture earns only if the member missed at most that many of
    its creditable minutes; with ``basis`` ``lecture_length`` the units are then counted on the lecture, not
    on the member's minutes (German CME: 1 point per full 45 minutes of the lecture).
    """

    code: str
    version: str
    effective_from: date
    name_en: str
    name_ja: str
    unit_name: str
    professions: frozenset[Profession]
    registry_number: RegistryNumber
    fields: frozenset[CmeField]
    minutes_per_unit: int
    unit_value: Decimal
    minimum_minutes: int = 0
    remainder: RemainderRule | None = None
    basis: UnitBasis = UnitBasis.MINUTES_ATTENDED
    full_attendance_tolerance: int | None = None
    caps: Caps = field(default_factory=Caps)
    lecture_code: LectureCode | None = None
    lecture_code_required: bool = False
    requirement: MultiYearRequirement | None = None
    """Progress toward it is printed on yearly transcripts; None when the scheme defines none."""

    def __post_init__(self) -> None:
        if self.minutes_per_unit <= 0:
            raise ValueError(f"{self.label}: minutes_per_unit must be positive")
        if self.unit_value <= 0:
            raise ValueError(f"{self.label}: unit_value must be positive")
        if self.basis is UnitBasis.LECTURE_LENGTH and self.full_attendance_tolerance is None:
            raise ValueError(f"{self.label}: a lecture_length basis needs a full_attendance_tolerance")
        if self.lecture_code_required and self.lecture_code is None:
            raise ValueError(f"{self.label}: lecture_code_required needs a lecture_code")
        if self.remainder is not None and not 0 < self.remainder.from_minutes < self.minutes_per_unit:
            raise ValueError(f"{self.label}: remainder.from_minutes must lie inside one unit")
        requirement = self.requirement
        if requirement is not None and requirement.distinct_codes is not None and self.lecture_code is None:
            raise ValueError(f"{self.label}: a requirement of distinct codes needs a lecture_code")

    @property
    def label(self) -> str:
        """``code version``, as the audit log and the CLI name a policy."""
        return f"{self.code} {self.version}"

    def applies_to(self, profession: Profession, has_medical: bool, has_dental: bool, has_efn: bool) -> bool:
        """Whether a member of this profession with these registry numbers earns credits under the policy."""
        if profession not in self.professions:
            return False
        held = {
            RegistryNumber.NONE: True,
            RegistryNumber.MEDICAL: has_medical,
            RegistryNumber.DENTAL: has_dental,
            RegistryNumber.EFN: has_efn,
        }
        return held[self.registry_number]

    def to_parameters(self) -> dict[str, Any]:
        """The JSON-able parameters stored in ``credit_policies.parameters`` (Decimals as strings)."""
        return {
            "name_en": self.name_en,
            "name_ja": self.name_ja,
            "unit_name": self.unit_name,
            "professions": sorted(self.professions),
            "registry_number": self.registry_number.value,
            "fields": [cme_field.value for cme_field in CmeField if cme_field in self.fields],
            "minutes_per_unit": self.minutes_per_unit,
            "unit_value": str(self.unit_value),
            "minimum_minutes": self.minimum_minutes,
            "remainder": None
            if self.remainder is None
            else {"from_minutes": self.remainder.from_minutes, "value": str(self.remainder.value)},
            "basis": self.basis.value,
            "full_attendance_tolerance": self.full_attendance_tolerance,
            "caps": {
                "per_lecture": _decimal_text(self.caps.per_lecture),
                "per_day": _decimal_text(self.caps.per_day),
                "per_year": _decimal_text(self.caps.per_year),
            },
            "lecture_code": None if self.lecture_code is None else self.lecture_code.value,
            "lecture_code_required": self.lecture_code_required,
            **(
                {} if self.requirement is None else {"requirement": _requirement_parameters(self.requirement)}
            ),
        }

    @classmethod
    def from_parameters(
        cls, code: str, version: str, effective_from: date, parameters: Mapping[str, Any]
    ) -> CreditPolicy:
        """The policy a stored row describes; a missing, unknown or malformed parameter raises ValueError."""
        reader = _ParameterReader(f"{code} {version}", parameters)
        remainder = reader.optional_section("remainder")
        caps = reader.section("caps")
        lecture_code = reader.optional_choice("lecture_code", LectureCode)
        requirement = reader.optional_section("requirement", absent_is_none=True)
        policy = cls(
            code=code,
            version=version,
            effective_from=effective_from,
            name_en=reader.text("name_en"),
            name_ja=reader.text("name_ja"),
            unit_name=reader.text("unit_name"),
            professions=frozenset(reader.choices("professions", Profession)),
            registry_number=reader.choice("registry_number", RegistryNumber),
            fields=frozenset(reader.choices("fields", CmeField)),
            minutes_per_unit=reader.integer("minutes_per_unit"),
            unit_value=reader.decimal("unit_value"),
            minimum_minutes=reader.integer("minimum_minutes"),
            remainder=None
            if remainder is None
            else RemainderRule(remainder.integer("from_minutes"), remainder.decimal("value")),
            basis=reader.choice("basis", UnitBasis),
            full_attendance_tolerance=reader.optional_integer("full_attendance_tolerance"),
            caps=Caps(
                per_lecture=caps.optional_decimal("per_lecture"),
                per_day=caps.optional_decimal("per_day"),
                per_year=caps.optional_decimal("per_year"),
            ),
            lecture_code=lecture_code,
            lecture_code_required=reader.boolean("lecture_code_required"),
            requirement=None
            if requirement is None
            else MultiYearRequirement(
                years=requirement.integer("years"),
                units=requirement.optional_decimal("units"),
                distinct_codes=requirement.optional_integer("distinct_codes"),
                combined=requirement.optional_decimal("combined"),
            ),
        )
        reader.check_all_read()
        return policy


def _requirement_parameters(requirement: MultiYearRequirement) -> dict[str, Any]:
    return {
        "years": requirement.years,
        "units": _decimal_text(requirement.units),
        "distinct_codes": requirement.distinct_codes,
        "combined": _decimal_text(requirement.combined),
    }


def _decimal_text(amount: Decimal | None) -> str | None:
    return None if amount is None else str(amount)


class _ParameterReader:
    """Reads typed values out of stored parameters and names the policy and key in every complaint."""

    def __init__(self, where: str, parameters: Mapping[str, Any]) -> None:
        self.where = where
        self.parameters = parameters
        self.read: set[str] = set()
        self.sections: list[_ParameterReader] = []

    def _value(self, key: str) -> Any:
        if key not in self.parameters:
            raise ValueError(f"{self.where}: parameter {key!r} is missing")
        self.read.add(key)
        return self.parameters[key]

    def _fail(self, key: str, expected: str) -> ValueError:
        return ValueError(f"{self.where}: parameter {key!r} must be {expected}, not {self.parameters[key]!r}")

    def text(self, key: str) -> str:
        value = self._value(key)
        if not isinstance(value, str):
            raise self._fail(key, "text")
        return value

    def integer(self, key: str) -> int:
        value = self._value(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise self._fail(key, "a whole number >= 0")
        return value

    def optional_integer(self, key: str) -> int | None:
        return None if self._value(key) is None else self.integer(key)

    def boolean(self, key: str) -> bool:
        value = self._value(key)
        if not isinstance(value, bool):
            raise self._fail(key, "true or false")
        return value

    def decimal(self, key: str) -> Decimal:
        value = self._value(key)
        try:
            amount = Decimal(value) if isinstance(value, str) else None
        except InvalidOperation:
            amount = None
        if amount is None or not amount.is_finite() or amount < 0:
            raise self._fail(key, "a decimal string >= 0")
        return amount

    def optional_decimal(self, key: str) -> Decimal | None:
        return None if self._value(key) is None else self.decimal(key)

    def choice(self, key: str, choices: type[_Choice]) -> _Choice:
        value = self._value(key)
        try:
            return choices(value)
        except ValueError:
            raise self._fail(key, "one of " + ", ".join(choices)) from None

    def optional_choice(self, key: str, choices: type[_Choice]) -> _Choice | None:
        return None if self._value(key) is None else self.choice(key, choices)

    def choices(self, key: str, choices: type[_Choice]) -> list[_Choice]:
        values = self._value(key)
        if not isinstance(values, list):
            raise self._fail(key, "a list")
        try:
            return [choices(value) for value in values]
        except ValueError:
            raise self._fail(key, "a list of " + ", ".join(choices)) from None

    def section(self, key: str) -> _ParameterReader:
        value = self._value(key)
        if not isinstance(value, Mapping):
            raise self._fail(key, "an object")
        section = _ParameterReader(f"{self.where}: {key}", value)
        self.sections.append(section)
        return section

    def optional_section(self, key: str, *, absent_is_none: bool = False) -> _ParameterReader | None:
        """A section that may be null; with ``absent_is_none`` it may also be missing (a key added later,
        which rows stored before it lack)."""
        if absent_is_none and key not in self.parameters:
            return None
        return None if self._value(key) is None else self.section(key)

    def check_all_read(self) -> None:
        unknown = sorted(set(self.parameters) - self.read)
        if unknown:
            raise ValueError(f"{self.where}: unknown parameters {', '.join(unknown)}")
        for section in self.sections:
            section.check_all_read()
