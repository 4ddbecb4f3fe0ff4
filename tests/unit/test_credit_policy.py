"""Credit policies as data: stored parameters round-trip, bad ones are refused, presets match the docs.

The presets are described in docs/credits.md.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from cme_tracker.credits.policy import (
    Caps,
    CreditPolicy,
    LectureCode,
    RegistryNumber,
    RemainderRule,
    UnitBasis,
)
from cme_tracker.credits.presets import DE_CME, IMSJ, JDA, JMA, PRESETS
from cme_tracker.vocabulary import CmeField, Profession


def stored(policy: CreditPolicy) -> dict[str, Any]:
    """The parameters as they come back from a JSON column."""
    loaded: dict[str, Any] = json.loads(json.dumps(policy.to_parameters()))
    return loaded


@pytest.mark.parametrize("policy", PRESETS, ids=lambda policy: policy.code)
def test_every_preset_round_trips_through_json(policy: CreditPolicy) -> None:
    assert (
        CreditPolicy.from_parameters(policy.code, policy.version, policy.effective_from, stored(policy))
        == policy
    )


def test_decimals_are_stored_as_strings_never_floats() -> None:
    parameters = stored(DE_CME)
    assert parameters["unit_value"] == "1"
    assert parameters["caps"] == {"per_lecture": None, "per_day": "8", "per_year": None}
    assert stored(IMSJ)["unit_value"] == "0.5"


def test_unknown_parameter_is_refused_with_its_name() -> None:
    parameters = stored(IMSJ) | {"bonus": "1"}
    with pytest.raises(ValueError, match="unknown parameters bonus"):
        CreditPolicy.from_parameters("imsj", "x", date(2026, 1, 1), parameters)


def test_unknown_parameter_inside_a_section_is_refused() -> None:
    parameters = stored(IMSJ)
    parameters["caps"]["per_week"] = "3"
    with pytest.raises(ValueError, match="caps: unknown parameters per_week"):
        CreditPolicy.from_parameters("imsj", "x", date(2026, 1, 1), parameters)


def test_missing_parameter_is_named() -> None:
    parameters = stored(IMSJ)
    del parameters["minutes_per_unit"]
    with pytest.raises(ValueError, match="'minutes_per_unit' is missing"):
        CreditPolicy.from_parameters("imsj", "x", date(2026, 1, 1), parameters)


@pytest.mark.parametrize(
    ("key", "value", "complaint"),
    [
        ("unit_value", 0.5, "decimal string"),
        ("unit_value", "half", "decimal string"),
        ("minutes_per_unit", "30", "whole number"),
        ("minutes_per_unit", True, "whole number"),
        ("fields", ["clinical", "surgery"], "a list of"),
        ("registry_number", "passport", "one of"),
        ("lecture_code_required", "yes", "true or false"),
    ],
)
def test_malformed_parameter_is_refused(key: str, value: object, complaint: str) -> None:
    parameters = stored(IMSJ) | {key: value}
    with pytest.raises(ValueError, match=complaint):
        CreditPolicy.from_parameters("imsj", "x", date(2026, 1, 1), parameters)


def test_lecture_length_basis_without_a_tolerance_is_refused() -> None:
    with pytest.raises(ValueError, match="full_attendance_tolerance"):
        replace(IMSJ, basis=UnitBasis.LECTURE_LENGTH)


def test_remainder_outside_one_unit_is_refused() -> None:
    with pytest.raises(ValueError, match="inside one unit"):
        replace(JDA, remainder=RemainderRule(from_minutes=30, value=Decimal(1)))


def test_required_code_needs_a_code_to_require() -> None:
    with pytest.raises(ValueError, match="lecture_code_required"):
        replace(IMSJ, lecture_code_required=True)


def test_presets_carry_the_rules_of_the_domain_table() -> None:
    assert (IMSJ.minutes_per_unit, IMSJ.unit_value, IMSJ.fields) == (30, Decimal("0.5"), frozenset(CmeField))
    assert IMSJ.professions == frozenset(Profession)
    assert IMSJ.registry_number is RegistryNumber.NONE
    assert (JMA.lecture_code, JMA.lecture_code_required) == (LectureCode.JMA_CC, True)
    assert JMA.registry_number is RegistryNumber.MEDICAL
    assert JDA.remainder == RemainderRule(from_minutes=20, value=Decimal(1))
    assert CmeField.DISCOURSE not in JDA.fields
    assert CmeField.DISCOURSE not in DE_CME.fields
    assert (DE_CME.minutes_per_unit, DE_CME.full_attendance_tolerance) == (45, 5)
    assert DE_CME.caps == Caps(per_day=Decimal(8))
    assert [policy.code for policy in PRESETS] == ["imsj", "jma", "jda", "de-cme"]


def test_jma_needs_a_physician_with_a_medical_registry_number() -> None:
    assert JMA.applies_to(Profession.PHYSICIAN, has_medical=True, has_dental=False, has_efn=False)
    assert not JMA.applies_to(Profession.PHYSICIAN, has_medical=False, has_dental=False, has_efn=True)
    assert not JMA.applies_to(Profession.DENTIST, has_medical=True, has_dental=True, has_efn=False)


def test_jda_needs_a_dentist_with_a_dental_registry_number() -> None:
    assert JDA.applies_to(Profession.DENTIST, has_medical=False, has_dental=True, has_efn=False)
    assert not JDA.applies_to(Profession.DENTIST, has_medical=False, has_dental=False, has_efn=False)
    assert not JDA.applies_to(Profession.OTHER, has_medical=False, has_dental=True, has_efn=False)


def test_de_cme_needs_an_efn_whatever_the_profession() -> None:
    for profession in Profession:
        assert DE_CME.applies_to(profession, has_medical=False, has_dental=False, has_efn=True)
        assert not DE_CME.applies_to(profession, has_medical=True, has_dental=True, has_efn=False)
