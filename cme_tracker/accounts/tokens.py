"""API clients: a desk device or an auditor's script holding one role and a random bearer token.

The token is shown once and stored as its SHA-256: it is checked on every scan, and 128 random bits need no
slow hash to resist guessing.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import datetime

from sqlalchemy import CheckConstraint, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from cme_tracker.audit import chain
from cme_tracker.db import Base, utcnow
from cme_tracker.errors import Conflict, DomainError, NotFound
from cme_tracker.vocabulary import TOKEN_ROLES, Role

log = logging.getLogger(__name__)


class ApiClient(Base):
    __tablename__ = "api_clients"
    __table_args__ = (CheckConstraint("role IN ('desk', 'auditor')", name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_client(session: Session, *, name: str, role: Role, actor: str) -> tuple[ApiClient, str]:
    """A new client and its token; the token is returned once and never stored in clear."""
    if role not in TOKEN_ROLES:
        raise DomainError(f"API tokens are for {' and '.join(TOKEN_ROLES)} only", code="bad_role")
    if session.scalar(select(ApiClient.id).where(ApiClient.name == name)) is not None:
        raise Conflict(f"an API client named {name!r} exists", code="name_taken")
    token = secrets.token_urlsafe(32)
    client = ApiClient(name=name, role=role.value, token_sha256=token_digest(token))
    session.add(client)
    session.flush()
    chain.record(
        session, actor=actor, action="token.create", target=f"api_client:{name}", details={"role": role}
    )
    log.info("API client %s (%s) created by %s", name, role.value, actor)
    return client, token


def revoke_client(session: Session, *, name: str, actor: str) -> ApiClient:
    client = session.scalar(select(ApiClient).where(ApiClient.name == name))
    if client is None:
        raise NotFound(f"no API client named {name!r}", code="unknown_client")
    if client.revoked_at is None:
        client.revoked_at = utcnow()
        chain.record(session, actor=actor, action="token.revoke", target=f"api_client:{name}")
        log.info("API client %s revoked by %s", name, actor)
    return client


def client_for_token(session: Session, token: str) -> ApiClient | None:
    """The live client holding ``token``, else None."""
    return session.scalar(
        select(ApiClient).where(ApiClient.token_sha256 == token_digest(token), ApiClient.revoked_at.is_(None))
    )
