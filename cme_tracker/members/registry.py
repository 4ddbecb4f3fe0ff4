"""Format checks of the registry numbers a member may carry: Japanese medical and dental registry numbers and
the German EFN, whose last digit is a Luhn check digit that catches a mistyped or swapped digit."""

from __future__ import annotations

import re

EFN_LENGTH = 15
REGISTRY_NUMBER_MAX_DIGITS = 8
_DIGITS = re.compile(r"[0-9]+")


def luhn_check_digit(payload: str) -> str:
    """The Luhn digit that completes ``payload`` (digits only)."""
    if not _DIGITS.fullmatch(payload):
        raise ValueError(f"{payload!r} is not a string of digits")
    total = 0
    for position, char in enumerate(reversed(payload)):
        digit = int(char)
        if position % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return str(-total % 10)


def efn_check_digit(first_digits: str) -> str:
    """The check digit that completes the first 14 digits of an EFN."""
    if len(first_digits) != EFN_LENGTH - 1:
        raise ValueError(f"an EFN has {EFN_LENGTH - 1} digits before its check digit")
    return luhn_check_digit(first_digits)


def luhn_valid(number: str) -> bool:
    """Whether the last digit of ``number`` is the Luhn check digit of the digits before it."""
    if len(number) < 2 or not _DIGITS.fullmatch(number):
        return False
    return luhn_check_digit(number[:-1]) == number[-1]


def efn_problem(efn: str) -> str | None:
    """Why ``efn`` is not a valid Einheitliche Fortbildungsnummer, or None when it is."""
    if not _DIGITS.fullmatch(efn):
        return f"an EFN has {EFN_LENGTH} digits and nothing else"
    if len(efn) != EFN_LENGTH:
        return f"an EFN has {EFN_LENGTH} digits, not {len(efn)}"
    if not luhn_valid(efn):
        return "the EFN's check digit is wrong (a digit is mistyped or two are swapped)"
    return None


def registry_number_problem(number: str) -> str | None:
    """Why ``number`` is not a plausible medical or dental registry number (医籍, 歯科医籍), or None."""
    if not _DIGITS.fullmatch(number):
        return "a registry number has digits only"
    if len(number) > REGISTRY_NUMBER_MAX_DIGITS:
        return f"a registry number has at most {REGISTRY_NUMBER_MAX_DIGITS} digits"
    return None
