"""Multi-year requirements: the JMA-style rule, stored with the policy, absent in rows stored before it."""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest

from cme_tracker.credits.policy import CreditPolicy, MultiYearRequirement
from cme_tracker.credits.presets import IMSJ, JDA, JMA


def stored(policy: CreditPolicy) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(json.dumps(policy.to_parameters()))
    return loaded


def test_jma_asks_for_60_units_plus_distinct_codes_over_three_years() -> None:
    assert JMA.requirement == MultiYearRequirement(years=3, combined=Decimal(60))
    assert IMSJ.requirement is None and JDA.requirement is None


@pytest.mark.parametrize(
    ("units", "codes", "met"),
    [(Decimal(40), 20, True), (Decimal("39.5"), 20, False), (Decimal(60), 0, True), (Decimal(0), 59, False)],
)
def test_units_and_distinct_codes_are_summed_against_the_combined_threshold(
    units: Decimal, codes: int, met: bool
) -> None:
    assert JMA.requirement is not None
    assert JMA.requirement.met(units, codes) is met


def test_every_threshold_set_must_be_reached() -> None:
    requirement = MultiYearRequirement(years=2, units=Decimal(10), distinct_codes=5)
    assert requirement.met(Decimal(10), 5)
    assert not requirement.met(Decimal(30), 4)
    assert not requirement.met(Decimal("9.5"), 50)


def test_a_requirement_round_trips_as_decimal_strings() -> None:
    parameters = stored(JMA)
    assert parameters["requirement"] == {"years": 3, "units": None, "distinct_codes": None, "combined": "60"}
    assert CreditPolicy.from_parameters(JMA.code, JMA.version, JMA.effective_from, parameters) == JMA


def test_parameters_stored_before_requirements_existed_mean_none() -> None:
    parameters = stored(JMA)
    del parameters["requirement"]
    loaded = CreditPolicy.from_parameters(JMA.code, JMA.version, JMA.effective_from, parameters)
    assert loaded.requirement is None
    assert "requirement" not in stored(IMSJ)


def test_a_requirement_without_a_threshold_or_years_is_refused() -> None:
    with pytest.raises(ValueError, match="threshold"):
        MultiYearRequirement(years=3)
    with pytest.raises(ValueError, match="at least one year"):
        MultiYearRequirement(years=0, combined=Decimal(1))


def test_distinct_codes_need_a_scheme_code() -> None:
    with pytest.raises(ValueError, match="lecture_code"):
        replace(IMSJ, requirement=MultiYearRequirement(years=3, distinct_codes=10))


def test_an_unknown_key_inside_the_requirement_is_refused() -> None:
    parameters = stored(JMA)
    parameters["requirement"]["months"] = 36
    with pytest.raises(ValueError, match="months"):
        CreditPolicy.from_parameters(JMA.code, JMA.version, JMA.effective_from, parameters)
