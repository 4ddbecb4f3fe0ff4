"""API clients: a desk device, an auditor's script or the office's automation, holding one role and a random
bearer token.

The token is shown once and stored as its SHA-256: it is checked on every scan, and 128 random bits need no
slow hash to resist guessing. A token may expire (an admin token always does, by default after
:data:`ADMIN_TOKEN_DAYS` days): it is refused from the start of the day after its last valid date, in the
society's time zone. Its last use is noted at most once every :data:`LAST_USE_RESOLUTION`, so that a desk
scanning all day does not write for every scan.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from datetime import date, datetime, time, timedelta

from sqlalchemy import CheckConstraint, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from cme_tracker.audit import chain
from cme_tracker.db import Base, utcnow
from cme_tracker.errors import Conflict, DomainError, NotFound
from cme_tracker.society import SOCIETY_ZONE, society_today
from cme_tracker.vocabulary import TOKEN_ROLES, Role

log = logging.getLogger(__name__)


class ApiClient(Base):
    __tablename__ = "api_clients"
    __table_args__ = (CheckConstraint("role IN ('desk', 'auditor', 'admin')", name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]


ADMIN_TOKEN_DAYS = 90
"""How long an admin token lives when its creator names no date: office automation gets renewed tokens."""
LAST_USE_RESOLUTION = timedelta(hours=1)
TOKEN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,49}")
"""Short and plain: scans and audit events name their actor ``token:NAME``."""
TOKEN_NAME_RULE = "up to 50 letters, digits, '.', '_' or '-', starting with a letter or digit"  # noqa: S105 (a rule, no password)


def expiry_instant(last_valid_day: date) -> datetime:
    """The moment a token valid through ``last_valid_day`` (society time) stops working."""
    return datetime.combine(last_valid_day + timedelta(days=1), time(), SOCIETY_ZONE)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_client(
    session: Session,
    *,
    name: str,
    role: Role,
    actor: str,
    valid_through: date | None = None,
    today: date | None = None,
) -> tuple[ApiClient, str]:
    """A new client and its token; the token is returned once and never stored in clear.

    ``valid_through`` is the token's last valid day; an admin token without one lives :data:`ADMIN_TOKEN_DAYS`
    after ``today`` (default: the society's today).
    """
    today = today or society_today()
    if not TOKEN_NAME.fullmatch(name):
        raise DomainError(f"a token's name is {TOKEN_NAME_RULE}", code="invalid_name")
    if role not in TOKEN_ROLES:
        raise DomainError(f"API tokens are for {', '.join(TOKEN_ROLES)} only", code="bad_role")
    if valid_through is None:
        valid_through = default_valid_through(role, today)
    if valid_through is not None and valid_through < today:
        raise DomainError(
            f"the token would expire before today ({valid_through.isoformat()})", code="expiry_in_past"
        )
    if session.scalar(select(ApiClient.id).where(ApiClient.name == name)) is not None:
        raise Conflict(f"an API client named {name!r} exists", code="name_taken")
    token = secrets.token_urlsafe(32)
    expires_at = expiry_instant(valid_through) if valid_through is not None else None
    client = ApiClient(name=name, role=role.value, token_sha256=token_digest(token), expires_at=expires_at)
    session.add(client)
    session.flush()
    chain.record(
        session,
        actor=actor,
        action="token.create",
        target=f"api_client:{name}",
        details={"role": role, "valid_through": valid_through.isoformat() if valid_through else None},
    )
    log.info("API client %s (%s) created by %s, valid through %s", name, role.value, actor, valid_through)
    return client, token


def default_valid_through(role: Role, today: date | None = None) -> date | None:
    """The last valid day a new token of ``role`` gets when its creator names none."""
    return (today or society_today()) + timedelta(days=ADMIN_TOKEN_DAYS) if role is Role.ADMIN else None


def last_valid_day(client: ApiClient) -> date | None:
    """The last day (society time) the client's token works; None when it does not expire."""
    if client.expires_at is None:
        return None
    return (client.expires_at.astimezone(SOCIETY_ZONE) - timedelta(days=1)).date()


def list_clients(session: Session) -> list[ApiClient]:
    """Every API client by name, revoked and expired ones too: the office sees what was handed out."""
    return list(session.scalars(select(ApiClient).order_by(ApiClient.name)))


def client_by_name(session: Session, name: str) -> ApiClient:
    client = session.scalar(select(ApiClient).where(ApiClient.name == name))
    if client is None:
        raise NotFound(f"no API client named {name!r}", code="unknown_client")
    return client


def revoke_client(session: Session, *, name: str, actor: str) -> ApiClient:
    """Revoke the client's token (once: revoking again changes nothing and is not audited again)."""
    client = client_by_name(session, name)
    if client.revoked_at is None:
        client.revoked_at = utcnow()
        chain.record(session, actor=actor, action="token.revoke", target=f"api_client:{name}")
        log.info("API client %s revoked by %s", name, actor)
    return client
