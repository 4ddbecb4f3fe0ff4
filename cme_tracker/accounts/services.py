"""Creating and editing users and checking passwords. Plain functions on a Session; the caller commits.

The office edits a login (roles, its member, active) against the version it read (``row_version``); logging
in and out are no edits and leave the version alone. The society always keeps one active administrator: an
edit that would leave none is refused, also when two run at once (they are serialised, see
:func:`_serialise_admin_changes`).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any, Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cme_tracker.accounts.models import User, UserRole
from cme_tracker.accounts.passwords import check_password
from cme_tracker.audit import chain
from cme_tracker.db import utcnow
from cme_tracker.errors import Conflict, DomainError, NotFound, check_version
from cme_tracker.members.models import Member
from cme_tracker.vocabulary import Role

_hasher = PasswordHasher()

LOGIN_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
"""What the office may name a login: letters, digits, ``.``, ``_``, ``@`` and ``-`` (an e-mail address too),
at most 64 characters, so that it reads well in the audit log and in an API path."""
STAFF_ROLES: Final = (Role.ADMIN, Role.DESK, Role.AUDITOR)
ADMIN_LOCK_KEY: Final = 0x434D4541  # "CMEA"
"""The PostgreSQL advisory lock that serialises edits which could take away the last administrator."""


class Unset(Enum):
    """A field an edit leaves as it is (``None`` is a value: no member)."""

    UNSET = "unset"


UNSET: Final = Unset.UNSET


class LastAdmin(Conflict):
    code = "last_admin"


@dataclass(frozen=True)
class UserPage:
    """A page of users by login, and the login to continue after (None on the last page)."""

    users: Sequence[User]
    next_after: str | None


def user_by_login(session: Session, login: str) -> User:
    user = session.scalar(select(User).where(User.login == login))
    if user is None:
        raise NotFound(f"no login {login!r}", code="unknown_login")
    return user


def list_users(session: Session, *, after: str | None = None, limit: int = 50) -> UserPage:
    """Users in login order, ``limit`` a page, after the login ``after``."""
    statement = select(User).order_by(User.login).limit(limit + 1)
    if after is not None:
        statement = statement.where(User.login > after)
    users = session.scalars(statement).all()
    more = len(users) > limit
    return UserPage(users[:limit], users[limit - 1].login if more else None)


def _member(session: Session, member_no: str) -> Member:
    member = session.scalar(select(Member).where(Member.member_no == member_no))
    if member is None:
        raise NotFound(f"no member {member_no}", code="unknown_member")
    return member


def _check_member_free(session: Session, member: Member, user: User | None) -> None:
    holder = session.scalar(select(User.login).where(User.member_id == member.id))
    if holder is not None and (user is None or holder != user.login):
        raise Conflict(f"member {member.member_no} already has the login {holder!r}", code="member_taken")


def create_user(
    session: Session,
    *,
    login: str,
    password: str | None,
    roles: Collection[Role],
    member_no: str | None = None,
    actor: str,
) -> User:
    """A new login. A ``member`` login must name its member; a weak password is refused.

    ``password`` None leaves the login without a usable one (a member's, until they activate it); a staff
    login needs one.
    """
    if not roles:
        raise DomainError("a user needs at least one role", code="no_role")
    if password is None and Role.MEMBER not in roles:
        raise DomainError("a staff login needs an initial password", code="password_required")
    if password is not None:
        check_password(password)
    if session.scalar(select(User.id).where(User.login == login)) is not None:
        raise Conflict(f"the login {login!r} is taken", code="login_taken")
    member = None
    if member_no is not None:
        member = _member(session, member_no)
        _check_member_free(session, member, None)
    elif Role.MEMBER in roles:
        raise DomainError("a member login needs --member-no", code="member_required")
    user = User(
        login=login,
        password_hash=_hasher.hash(password) if password is not None else None,
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
        details={
            "roles": sorted(role.value for role in roles),
            "member_no": member_no,
            "password_set": password is not None,
        },
    )
    return user


def add_user(
    session: Session,
    *,
    login: str,
    roles: Collection[Role],
    member_no: str | None,
    password: str | None,
    actor: str,
) -> User:
    """A login created by the office (pages and API). A staff login gets the initial password the admin
    chose; a member's gets none: the office never sees nor sets a member's password, the member sets it when
    activating the login."""
    if not LOGIN_PATTERN.fullmatch(login):
        raise DomainError(
            "a login is 1 to 64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit",
            code="invalid_login",
        )
    if Role.MEMBER in roles and password is not None:
        raise DomainError(
            "the office never sets a member's password: the member sets it when activating the login",
            code="password_not_allowed",
        )
    if Role.MEMBER in roles and member_no is None:
        raise DomainError("a member login needs the member's number", code="member_required")
    return create_user(session, login=login, password=password, roles=roles, member_no=member_no, actor=actor)


def _serialise_admin_changes(session: Session) -> None:
    """Edits that may take an administrator away run one at a time: on PostgreSQL under an advisory lock
    held to the end of the transaction, taken before anything is read, so each sees what the one before
    committed; on SQLite the caller's transaction holds the write lock from its start
    (:func:`cme_tracker.db.begin_write`)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(ADMIN_LOCK_KEY)))


def _other_active_admins(session: Session, user: User) -> int:
    count = session.scalar(
        select(func.count(func.distinct(User.id)))
        .join(UserRole)
        .where(UserRole.role == Role.ADMIN, User.active.is_(True), User.id != user.id)
    )
    return count or 0


def update_user(
    session: Session,
    login: str,
    *,
    expected_version: int | None,
    actor: str,
    roles: Collection[Role] | None = None,
    member_no: str | Unset | None = UNSET,
    active: bool | None = None,
) -> User:
    """Change a login's roles, its member (None unlinks it) or whether it is active, as one edit of the
    version ``expected_version``. Disabling ends every session of the login. Refused when it would leave the
    society without an active administrator."""
    _serialise_admin_changes(session)
    user = user_by_login(session, login)
    check_version(user.row_version, expected_version)
    new_roles = frozenset(roles) if roles is not None else user.roles
    if not new_roles:
        raise DomainError("a user needs at least one role", code="no_role")
    member = user.member
    if member_no is not UNSET:
        member = _member(session, member_no) if member_no is not None else None
        if member is not None:
            _check_member_free(session, member, user)
    if Role.MEMBER in new_roles and member is None:
        raise DomainError(
            "a member login needs its member: link one, or take the member role away", code="member_required"
        )
    new_active = user.active if active is None else active
    loses_admin = user.active and Role.ADMIN in user.roles and not (new_active and Role.ADMIN in new_roles)
    if loses_admin and _other_active_admins(session, user) == 0:
        raise LastAdmin(
            f"{login} is the last active administrator: make another login an administrator first",
            code="last_admin",
        )
    changes: dict[str, Any] = {}
    if new_roles != user.roles:
        changes["roles"] = sorted(role.value for role in new_roles)
        kept = [row for row in user.role_rows if row.role in new_roles]
        added = [UserRole(role=role) for role in sorted(new_roles - user.roles)]
        user.role_rows = [*kept, *added]
    if member is not user.member:
        changes["member_no"] = member.member_no if member is not None else None
        user.member = member
    if new_active != user.active:
        changes["active"] = new_active
        user.active = new_active
        if not new_active:
            user.session_version += 1  # every session of the login ends now
    if not changes:
        return user
    user.row_version += 1
    session.flush()
    action = "user.update"
    if set(changes) == {"active"}:
        action = "user.enable" if new_active else "user.disable"
    chain.record(session, actor=actor, action=action, target=f"user:{login}", details=changes)
    return user


def set_password(session: Session, *, login: str, password: str, actor: str) -> None:
    """A new password for ``login``; it ends every session of the login, as one may have been stolen."""
    check_password(password)
    user = user_by_login(session, login)
    user.password_hash = _hasher.hash(password)
    user.session_version += 1
    chain.record(session, actor=actor, action="user.password", target=f"user:{login}")


def authenticate(session: Session, login: str, password: str) -> User | None:
    """The active user with this login and password, else None; rehashes when argon2's parameters changed.

    A login without a password (not activated yet) never authenticates."""
    user = session.scalar(select(User).where(User.login == login, User.active.is_(True)))
    if user is None or user.password_hash is None:
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
