"""Domain errors: a machine-readable code and a message a person can act on.

Views map them to HTTP statuses and the CLI to exit codes, each in one place.
"""

from __future__ import annotations

import errno
from collections.abc import Callable
from typing import Any


def N_(message: str) -> str:
    """Mark ``message`` for the catalogue where it is only translated later, by whoever shows it."""
    return message


class DomainError(Exception):
    """Base of every error a service raises on purpose."""

    code = "invalid"
    http_status = 422

    def __init__(self, message: str, *, code: str | None = None, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details

    def localized(self, gettext: Callable[[str], str]) -> str:
        """The message in the language ``gettext`` translates to; most keep their English ``message``."""
        return self.message


class NotFound(DomainError):
    code = "not_found"
    http_status = 404


class Conflict(DomainError):
    code = "conflict"
    http_status = 409


class Forbidden(DomainError):
    code = "forbidden"
    http_status = 403


class StaleVersion(DomainError):
    """An edit named a version of the record that is no longer the current one: someone else saved first.
    ``details`` carries the current version, so the client can show it and decide."""

    code = "version_mismatch"
    http_status = 412


class StorageFailed(DomainError):
    """The instance folder refused a write (a full or read-only disk, a file where a folder belongs).

    The message names the file and the system's reason for the operator; ``details`` carries only the
    reason's errno name, which pages translate (they never show a server path).
    """

    code = "storage_failed"
    http_status = 507

    @classmethod
    def of(cls, error: OSError) -> StorageFailed:
        reason = error.strerror or str(error)
        where = f"{error.filename}" if error.filename is not None else "a file in the instance folder"
        name = errno.errorcode.get(error.errno, "EIO") if error.errno is not None else "EIO"
        return cls(f"cannot write {where}: {reason}", details={"errno": name})


def check_version(current: int, expected: int | None) -> None:
    """Refuse an edit made against another version than ``current``; ``None`` means the editor did not say
    (the API refuses that before a service sees it, see api/versions.py)."""
    if expected is not None and expected != current:
        raise StaleVersion(
            f"the record was changed meanwhile (now version {current}, the edit was of version {expected})",
            details={"current_version": current},
        )
