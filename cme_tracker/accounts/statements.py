"""The API client lookup every bearer-token request runs, on the database driver.

A desk sends a token with every scan, so the lookup is built once and run through
:class:`cme_tracker.driver.DriverStatement`, in the request's transaction: a revoked or expired token fails at
once. Noting a client's last use is a separate short write, made rarely (see accounts/tokens.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple, cast

from sqlalchemy import Connection, Table, bindparam, or_, select, update

from cme_tracker.accounts.tokens import ApiClient, token_digest
from cme_tracker.driver import DriverStatement

_CLIENTS = cast(Table, ApiClient.__table__)
_LIVE_CLIENT = DriverStatement(
    select(_CLIENTS.c.id, _CLIENTS.c.name, _CLIENTS.c.role, _CLIENTS.c.last_used_at).where(
        _CLIENTS.c.token_sha256 == bindparam("digest"),
        _CLIENTS.c.revoked_at.is_(None),
        or_(_CLIENTS.c.expires_at.is_(None), _CLIENTS.c.expires_at > bindparam("now")),
    )
)
_NOTE_USE = DriverStatement(
    update(_CLIENTS).where(_CLIENTS.c.id == bindparam("client_id")).values(last_used_at=bindparam("now"))
)


class LiveClient(NamedTuple):
    id: int
    name: str
    role: str
    last_used_at: datetime | None


def live_client(connection: Connection, token: str, now: datetime) -> LiveClient | None:
    """The client holding ``token``; None for an unknown, revoked or (at ``now``) expired token."""
    found = _LIVE_CLIENT.rows(connection, {"digest": token_digest(token), "now": now})
    return LiveClient(*found[0]) if found else None


def note_use(connection: Connection, client_id: int, now: datetime) -> None:
    _NOTE_USE.rows(connection, {"client_id": client_id, "now": now})
