"""``CME_MAIL_URL``: the three schemes, their default ports, credentials, and clear refusals."""

from __future__ import annotations

import pytest

from cme_tracker.mail.transport import MailServer


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://mail.example.jp", MailServer("smtp", "mail.example.jp", 25)),
        ("smtps://mail.example.jp", MailServer("smtps", "mail.example.jp", 465)),
        ("smtp+starttls://mail.example.jp", MailServer("smtp+starttls", "mail.example.jp", 587)),
        ("smtp://127.0.0.1:2525", MailServer("smtp", "127.0.0.1", 2525)),
        (
            "smtp+starttls://cme%40imsj.example:p%3Ass@mail.example.jp:587",
            MailServer("smtp+starttls", "mail.example.jp", 587, "cme@imsj.example", "p:ss"),
        ),
    ],
)
def test_mail_urls_name_the_server_and_its_credentials(url: str, expected: MailServer) -> None:
    assert MailServer.from_url(url) == expected


def test_the_password_never_appears_when_the_server_is_shown() -> None:
    server = MailServer.from_url("smtps://cme:secret-pw@mail.example.jp")
    assert str(server) == "smtps://cme@mail.example.jp:465" and "secret-pw" not in str(server)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://mail.example.jp", "must start with smtp://, smtps://, smtp+starttls://"),
        ("smtp://", "names no host"),
        ("smtp://mail.example.jp:99999", "invalid port"),
    ],
)
def test_bad_mail_urls_are_refused_with_the_reason(url: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason.replace("+", r"\+")):
        MailServer.from_url(url)
