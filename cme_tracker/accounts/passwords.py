"""The password policy for logins: long enough, not one character repeated, not a well-known password.

People must be able to live with it, so it asks for length rather than symbol rules (as NIST SP 800-63B
advises) and refuses only what an attacker tries first: the shipped list in ``common_passwords.txt``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from importlib.resources import files

from cme_tracker.errors import N_, DomainError

MIN_PASSWORD_LENGTH = 12

TOO_SHORT = N_("the password must have at least %(count)d characters")
ONE_CHARACTER = N_("the password must not be one character repeated")
COMMON = N_("this password is on the list of common passwords; choose another")


class WeakPassword(DomainError):
    """A password the policy refuses; its message says which rule, in the catalogue's languages."""

    code = "weak_password"

    def __init__(self, rule: str) -> None:
        self.rule = rule
        super().__init__(rule % {"count": MIN_PASSWORD_LENGTH})

    def localized(self, gettext: Callable[[str], str]) -> str:
        return gettext(self.rule) % {"count": MIN_PASSWORD_LENGTH}


@cache
def common_passwords() -> frozenset[str]:
    """The shipped list, lower-cased; read once, as it never changes while the process runs."""
    text = files("cme_tracker.accounts").joinpath("common_passwords.txt").read_text(encoding="utf-8")
    return frozenset(
        line.strip().casefold() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


def check_password(password: str) -> None:
    """Refuse a password the policy does not allow, saying which rule it breaks."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword(TOO_SHORT)
    if len(set(password)) == 1:
        raise WeakPassword(ONE_CHARACTER)
    if password.strip().casefold() in common_passwords():
        raise WeakPassword(COMMON)
