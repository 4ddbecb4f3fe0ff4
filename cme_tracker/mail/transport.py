"""Handing a message over: to the SMTP server of ``CME_MAIL_URL``, or into the instance's outbox folder.

``smtp://host:port`` (plain, port 25 by default), ``smtps://host:port`` (TLS from the start, 465) and
``smtp+starttls://host:port`` (STARTTLS, 587); any of them may carry ``user:password@``. Python's ``smtplib``
speaks all three, so no library is added for it.
"""

from __future__ import annotations

import logging
import os
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import unquote, urlsplit

log = logging.getLogger(__name__)

SCHEMES = {"smtp": 25, "smtps": 465, "smtp+starttls": 587}
TIMEOUT_SECONDS = 30


class PermanentFailure(Exception):
    """The server refused the message for good (a 5xx answer): retrying would not help."""


class TemporaryFailure(Exception):
    """The server could not be reached or asked to try later (a 4xx answer, a dropped connection)."""


@dataclass(frozen=True)
class MailServer:
    scheme: str
    host: str
    port: int
    username: str | None = None
    password: str | None = None

    @classmethod
    def from_url(cls, url: str) -> MailServer:
        """The server ``url`` names; a ValueError that says what is wrong otherwise."""
        parts = urlsplit(url.strip())
        if parts.scheme not in SCHEMES:
            known = ", ".join(f"{scheme}://" for scheme in SCHEMES)
            raise ValueError(f"CME_MAIL_URL must start with {known}, not {parts.scheme!r}")
        if not parts.hostname:
            raise ValueError("CME_MAIL_URL names no host")
        try:
            port = parts.port or SCHEMES[parts.scheme]
        except ValueError:
            raise ValueError("CME_MAIL_URL has an invalid port") from None
        return cls(
            parts.scheme,
            parts.hostname,
            port,
            unquote(parts.username) if parts.username else None,
            unquote(parts.password) if parts.password else None,
        )

    def __str__(self) -> str:
        """The server without its password, for logs and pages."""
        user = f"{self.username}@" if self.username else ""
        return f"{self.scheme}://{user}{self.host}:{self.port}"

    def send(self, message: EmailMessage) -> None:
        """Deliver ``message``, or raise :class:`PermanentFailure` or :class:`TemporaryFailure`."""
        try:
            with self._connect() as connection:
                if self.username:
                    connection.login(self.username, self.password or "")
                refused = connection.send_message(message)
        except smtplib.SMTPRecipientsRefused as error:
            raise _refusal(error.recipients) from None
        except smtplib.SMTPResponseException as error:
            reply = error.smtp_error
            raise _failure(
                error.smtp_code, reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
            ) from None
        except (smtplib.SMTPException, OSError) as error:
            raise TemporaryFailure(f"{self}: {error}") from None
        if refused:
            raise _refusal(refused)

    def _connect(self) -> smtplib.SMTP:
        if self.scheme == "smtps":
            return smtplib.SMTP_SSL(
                self.host, self.port, timeout=TIMEOUT_SECONDS, context=ssl.create_default_context()
            )
        connection = smtplib.SMTP(self.host, self.port, timeout=TIMEOUT_SECONDS)
        if self.scheme == "smtp+starttls":
            connection.starttls(context=ssl.create_default_context())
        return connection


def _refusal(recipients: dict[str, tuple[int, bytes]]) -> Exception:
    """The server's answer to refused recipients: the lowest code decides (a 4xx is worth a retry)."""
    code = min(code for code, _ in recipients.values())
    answers = sorted({reply.decode("utf-8", "replace") for _, reply in recipients.values()})
    return _failure(code, "; ".join(answers))


def _failure(code: int, text: str) -> Exception:
    return PermanentFailure(f"{code} {text}") if code >= 500 else TemporaryFailure(f"{code} {text}")


def write_to_outbox(folder: Path, message: EmailMessage, name: str) -> Path:
    """Write ``message`` as ``folder/name.eml``, whole or not at all (temporary file, fsync, rename)."""
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / f"{name}.eml"
    temporary = folder / f".{name}.eml.partial"
    with temporary.open("wb") as handle:
        handle.write(message.as_bytes())
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, final)
    return final
