"""Login throttling: failed logins counted per account and per client address, in the database so every web
process counts together, with an exponential back-off once a key has failed a few times.

While a key is locked its attempts are refused before the password hash is checked, so a script trying
passwords costs the server no argon2 work and learns nothing. Failures are counted here, not each written to
the audit chain; the chain records when an account gets locked and when an administrator unlocks it.
"""

from __future__ import annotations

import math
import secrets
from datetime import datetime, timedelta

from sqlalchemy import String, case, delete, or_, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from cme_tracker.accounts.models import User
from cme_tracker.audit import chain
from cme_tracker.db import Base, conflict_insert
from cme_tracker.errors import NotFound

ACCOUNT_FAILURES = 5
"""Failures of one login before it is locked."""
ADDRESS_FAILURES = 20
"""Failures from one client address before it is locked: higher, as a hospital's staff share one address."""
FIRST_LOCK = timedelta(minutes=1)
"""The first lock; each further failure doubles it, up to :data:`LONGEST_LOCK`."""
LONGEST_LOCK = timedelta(hours=1)
DOUBLINGS = math.ceil(math.log2(LONGEST_LOCK / FIRST_LOCK))
"""The doublings that reach :data:`LONGEST_LOCK`."""
FORGET_AFTER = timedelta(days=1)
"""A key without a failure this long starts counting afresh."""
SWEEP_ONE_IN = 32
"""A key's first failure deletes every forgotten key with this chance (1 in N), so that the table keeps no row
for each address that ever mistyped a password; ``cme-tracker db prune`` and the worker do it too."""


class LoginFailures(Base):
    """The failed logins of one key (``login:NAME`` or ``ip:ADDRESS``) and until when it is locked."""

    __tablename__ = "login_failures"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    failures: Mapped[int]
    last_failure_at: Mapped[datetime]
    locked_until: Mapped[datetime | None]


def keys(login: str, address: str | None) -> tuple[str, str]:
    """The account's key and the client address's key."""
    return f"login:{login}", f"ip:{address or 'unknown'}"


def locked_until(session: Session, login: str, address: str | None, now: datetime) -> datetime | None:
    """When the later of the two locks ends, or None when neither key is locked now."""
    ends = session.scalars(
        select(LoginFailures.locked_until).where(
            LoginFailures.key.in_(keys(login, address)), LoginFailures.locked_until > now
        )
    ).all()
    return max((end for end in ends if end is not None), default=None)


def locked_logins(session: Session, logins: list[str], now: datetime) -> dict[str, datetime]:
    """Which of ``logins`` are locked now by their own failures, and until when (the office's users list)."""
    rows = session.execute(
        select(LoginFailures.key, LoginFailures.locked_until).where(
            LoginFailures.key.in_([keys(login, None)[0] for login in logins]),
            LoginFailures.locked_until > now,
        )
    ).all()
    return {key.removeprefix("login:"): until for key, until in rows if until is not None}


def record_failure(session: Session, login: str, address: str | None, now: datetime) -> None:
    """Count one failed login of ``login`` from ``address``; lock each key that reached its threshold.

    One upsert per key, atomic on both databases; a lock of an existing account is written to the audit chain.
    """
    account_key, address_key = keys(login, address)
    for key, threshold in ((account_key, ACCOUNT_FAILURES), (address_key, ADDRESS_FAILURES)):
        failures = _count(session, key, now)
        if failures < threshold:
            continue
        # the exponent is capped before it grows past the longest lock: a huge one would overflow timedelta
        doublings = min(failures - threshold, DOUBLINGS)
        lock = min(FIRST_LOCK * 2**doublings, LONGEST_LOCK)
        session.execute(update(LoginFailures).where(LoginFailures.key == key).values(locked_until=now + lock))
        if key == account_key and session.scalar(select(User.id).where(User.login == login)) is not None:
            chain.record(
                session,
                actor="anonymous",
                action="login.locked",
                target=f"user:{login}",
                details={"failures": failures, "seconds": int(lock.total_seconds()), "ip": address},
            )
    session.flush()


def prune_failures(session: Session, now: datetime) -> int:
    """Delete the keys whose failures are forgotten and which are not locked; how many."""
    result = session.execute(
        delete(LoginFailures).where(
            LoginFailures.last_failure_at < now - FORGET_AFTER,
            or_(LoginFailures.locked_until.is_(None), LoginFailures.locked_until < now),
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


def _count(session: Session, key: str, now: datetime) -> int:
    dialect = session.get_bind().dialect.name
    statement = conflict_insert(dialect, LoginFailures).values(
        key=key, failures=1, last_failure_at=now, locked_until=None
    )
    forgotten = LoginFailures.last_failure_at < now - FORGET_AFTER
    counted = statement.on_conflict_do_update(
        index_elements=[LoginFailures.key],
        set_={
            "failures": case((forgotten, 1), else_=LoginFailures.failures + 1),
            "last_failure_at": now,
        },
    ).returning(LoginFailures.failures)
    failures = int(session.execute(counted).scalar_one())
    if failures == 1 and secrets.randbelow(SWEEP_ONE_IN) == 0:
        prune_failures(session, now)
    return failures


def forget(session: Session, login: str) -> None:
    """A successful login clears its account's count (not its address's: one valid login must not reset a
    script's count of another account's guesses)."""
    session.execute(delete(LoginFailures).where(LoginFailures.key == keys(login, None)[0]))


def unlock(session: Session, login: str, *, actor: str) -> None:
    """An administrator lifts the lock of ``login`` (and its count) and the audit chain records it."""
    if session.scalar(select(User.id).where(User.login == login)) is None:
        raise NotFound(f"no login {login!r}", code="unknown_login")
    forget(session, login)
    chain.record(session, actor=actor, action="login.unlocked", target=f"user:{login}")
