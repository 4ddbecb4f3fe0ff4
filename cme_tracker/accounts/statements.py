"""The API client lookup every bearer-token request runs, on the database driver.

A desk sends a token with every scan, so the lookup is built once and run through
:class:`cme_tracker.driver.DriverStatement`, in the request's transaction: a revoked token fails at once.
"""

from __future__ import annotations

from typing import cast

from sqlalchemy import Connection, Table, bindparam, select

from cme_tracker.accounts.tokens import ApiClient, token_digest
from cme_tracker.driver import DriverStatement

_CLIENTS = cast(Table, ApiClient.__table__)
_LIVE_CLIENT = DriverStatement(
    select(_CLIENTS.c.name, _CLIENTS.c.role).where(
        _CLIENTS.c.token_sha256 == bindparam("digest"), _CLIENTS.c.revoked_at.is_(None)
    )
)


def live_client(connection: Connection, token: str) -> tuple[str, str] | None:
    """The name and role of the client holding ``token``; None for an unknown or revoked token."""
    found = _LIVE_CLIENT.rows(connection, {"digest": token_digest(token)})
    return (found[0].name, found[0].role) if found else None
