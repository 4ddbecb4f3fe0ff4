"""The password policy: 12 characters, not one character repeated, not on the shipped list of common ones."""

from __future__ import annotations

import pytest

from cme_tracker.accounts.passwords import MIN_PASSWORD_LENGTH, check_password, common_passwords
from cme_tracker.demo.command import DEMO_LOGINS
from cme_tracker.errors import DomainError


@pytest.mark.parametrize(
    ("password", "says"),
    [
        ("elevenchars", "at least 12 characters"),
        ("aaaaaaaaaaaaaaaa", "one character repeated"),
        (" " * 10, "at least 12 characters"),
        (" " * 14, "one character repeated"),
        ("password123456", "common passwords"),
        ("123456789012", "common passwords"),
        ("QwertyuiopAS", "common passwords"),
    ],
)
def test_weak_passwords_are_refused_saying_why(password: str, says: str) -> None:
    with pytest.raises(DomainError) as refused:
        check_password(password)
    assert refused.value.code == "weak_password"
    assert says in refused.value.message


@pytest.mark.parametrize(
    "password", ["correct horse battery staple", "long enough pw", *(login.password for login in DEMO_LOGINS)]
)
def test_passwords_people_can_live_with_pass(password: str) -> None:
    check_password(password)


def test_the_shipped_list_is_small_and_holds_only_what_the_length_rule_lets_through() -> None:
    listed = common_passwords()
    assert 50 <= len(listed) <= 1000
    assert all(len(password) >= MIN_PASSWORD_LENGTH for password in listed)
