from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import String, UniqueConstraint, true
from sqlalchemy.orm import Mapped, mapped_column

from cme_tracker.db import Base, JSONDocument, utcnow


class CreditPolicyVersion(Base):
    """One version of a credit policy: its rule parameters are data, read by the pure credits engine.

    Only ``enabled`` is edited after the row is written (a changed rule is a new version), and that edit is
    optimistic: ``row_version`` is the record's ETag.
    """

    __tablename__ = "credit_policies"
    __table_args__ = (UniqueConstraint("code", "version", name="uq_credit_policies_code_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32))
    version: Mapped[str] = mapped_column(String(32))
    effective_from: Mapped[date]
    enabled: Mapped[bool] = mapped_column(default=True, server_default=true())
    parameters: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    row_version: Mapped[int] = mapped_column(default=1, server_default="1")

    __mapper_args__ = {"version_id_col": row_version}  # noqa: RUF012 - SQLAlchemy reads it as it is
