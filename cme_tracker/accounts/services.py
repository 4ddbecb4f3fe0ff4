"""Creating users and checking passwords. Plain functions on a Session; the caller commits."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from cme_tracker.accounts.models import User, UserRole
from cme_tracker.accounts.passwords import check_password
from cme_tracker.audit import chain
from cme_tracker.db import utcnow
from cme_tracker.errors import Conflict, DomainError, NotFound
from cme_tracker.members.models import Member
from cme_tracker.vocabulary import Role

_hasher = PasswordHasher()


def create_user(
    session: Session,
    *,
    login: str,
    password: str,
    roles: list[Role],
    member_no: str | None = None,
    actor: str,
) -> User:
    """A new login. A ``member`` login must name its member; a weak password is refused."""
    if not roles:
        raise DomainError("a user needs at least one role", code="no_role")
    check_password(password)
    if session.scalar(select(User.id).where(User.login == login)) is not None:
        raise Conflict(f"the login {login!r} is taken", code="login_taken")
    member = None
    if member_no is not None:
        member = session.scalar(select(Member).where(Member.member_no == member_no))
        if member is None:
            raise NotFound(f"no member {member_no}", code="unknown_member")
    elif Role.MEMBER in roles:
        raise DomainError("a member login needs --member-no", code="member_required")
    user = User(
        login=login,
        password_hash=_hasher.hash(password),
        member=member,
        role_rows=[UserRole(role=role) for role in sorted(set(roles))],
    )
    session.add(user)
    session.flush()
    chain.record(
        session,
        actor=actor,
        action="user.create",
        target=f"user:{login}",
        details={"roles": sorted(role.value for role in roles), "member_no": member_no},
    )
    return user


def set_password(session: Session, *, login: str, password: str, actor: str) -> None:
    """A new password for ``login``; it ends every session of the login, as one may have been stolen."""
    check_password(password)
    user = session.scalar(select(User).where(User.login == login))
    if user is None:
        raise NotFound(f"no login {login!r}", code="unknown_login")
    user.password_hash = _hasher.hash(password)
    user.session_version += 1
    chain.record(session, actor=actor, action="user.password", target=f"user:{login}")


def authenticate(session: Session, login: str, password: str) -> User | None:
    """The active user with this login and password, else None; rehashes when argon2's parameters changed."""
    user = session.scalar(select(User).where(User.login == login, User.active.is_(True)))
    if user is None:
        _hasher.hash(password)  # same work as a real check, so timing does not reveal which logins exist
        return None
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    user.last_login_at = utcnow()
    return user
