from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, text, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cme_tracker.db import Base, EnumString, utcnow
from cme_tracker.members.models import Member
from cme_tracker.vocabulary import Role, sql_in


class User(Base):
    """A login with one or more roles; a ``member`` login is linked to its member record."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    login: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(200))
    """None: no usable password yet (a member's login the office created, until the member activates it)."""
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"), unique=True)
    active: Mapped[bool] = mapped_column(default=True, server_default=true())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]
    session_version: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    """Part of the id a session cookie carries: raising it (logout, new password, disabling) revokes every
    session."""
    row_version: Mapped[int] = mapped_column(default=1, server_default=text("1"))
    """The version the office's edits name (``ETag``/``If-Match``, the pages' hidden field)."""

    member: Mapped[Member | None] = relationship()
    role_rows: Mapped[list[UserRole]] = relationship(cascade="all, delete-orphan", lazy="selectin")

    # The services raise the version for the office's edits only (accounts/services.py): a login, a logout
    # or a new password is no edit of the record and must not make an admin's open edit stale. The ORM still
    # names the version it read in every UPDATE, so an edit that raced past its version check is refused.
    __mapper_args__ = {"version_id_col": row_version, "version_id_generator": False}  # noqa: RUF012

    @property
    def roles(self) -> frozenset[Role]:
        return frozenset(row.role for row in self.role_rows)

    def has_role(self, *roles: Role) -> bool:
        return not self.roles.isdisjoint(roles)

    @property
    def has_password(self) -> bool:
        return self.password_hash is not None

    # The protocol flask-login expects of a user, written out so the model does not import Flask.
    is_authenticated = True
    is_anonymous = False

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str:
        """``ID:VERSION``: kept in the session by flask-login; a cookie of an older version is refused."""
        return f"{self.id}:{self.session_version}"


class UserRole(Base):
    __tablename__ = "user_roles"
    __table_args__ = (CheckConstraint(f"role IN ({sql_in(Role)})", name="role"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[Role] = mapped_column(EnumString(Role, 16), primary_key=True)
