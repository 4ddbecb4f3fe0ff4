from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cme_tracker.members.registry import (
    efn_check_digit,
    efn_problem,
    luhn_check_digit,
    luhn_valid,
    registry_number_problem,
)

VALID_EFN = "276123456789012"


def test_luhn_check_digit_matches_the_textbook_example() -> None:
    assert luhn_check_digit("7992739871") == "3"
    assert luhn_valid("79927398713")
    assert not luhn_valid("79927398710")


def test_a_valid_efn_has_no_problem() -> None:
    assert efn_problem(VALID_EFN) is None
    assert efn_problem("276100000000005") is None


def test_an_efn_with_a_wrong_check_digit_is_refused() -> None:
    assert "check digit" in (efn_problem("276123456789013") or "")


def test_an_efn_with_two_swapped_digits_is_refused() -> None:
    assert efn_problem("276123456789102") is not None


@pytest.mark.parametrize("efn", ["27612345678901", "2761234567890123", ""])
def test_an_efn_of_the_wrong_length_is_refused(efn: str) -> None:
    assert "15 digits" in (efn_problem(efn) or "")


@pytest.mark.parametrize("efn", ["27612345678901X", "276 12345678901", "２７６１２３４５６７８９０１２"])
def test_an_efn_with_anything_but_ascii_digits_is_refused(efn: str) -> None:
    assert efn_problem(efn) is not None


def test_efn_check_digit_completes_fourteen_digits_only() -> None:
    assert efn_check_digit(VALID_EFN[:14]) == VALID_EFN[14]
    with pytest.raises(ValueError, match="14 digits"):
        efn_check_digit("2761")


@settings(max_examples=60)
@given(st.text("0123456789", min_size=14, max_size=14), st.integers(0, 14), st.integers(1, 9))
def test_changing_any_one_digit_of_a_valid_efn_is_detected(body: str, position: int, shift: int) -> None:
    efn = body + efn_check_digit(body)
    assert efn_problem(efn) is None
    wrong = efn[:position] + str((int(efn[position]) + shift) % 10) + efn[position + 1 :]
    assert efn_problem(wrong) is not None


@pytest.mark.parametrize("number", ["1", "012345", "00412345", "99999999"])
def test_registry_numbers_of_one_to_eight_digits_are_accepted_with_leading_zeros(number: str) -> None:
    assert registry_number_problem(number) is None


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        ("123456789", "at most 8 digits"),
        ("12-345", "digits only"),
        ("A12345", "digits only"),
        ("", "digits only"),
    ],
)
def test_registry_numbers_that_are_not_short_digit_strings_are_refused(number: str, reason: str) -> None:
    assert reason in (registry_number_problem(number) or "")
