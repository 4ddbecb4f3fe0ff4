"""jma multi year requirement

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25

Data only: the shipped ``jma`` preset gains its multi-year requirement (units plus distinct curriculum codes
of at least 60 over three years), which yearly transcripts print progress toward. Rows stored before it lack
the key, which reads as "no requirement"; downgrading removes it again. Other versions an officer added are
left as they are.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

PRESET_VERSION = "2026.1"
REQUIREMENT: dict[str, Any] = {"years": 3, "units": None, "distinct_codes": None, "combined": "60"}

_policies = sa.table(
    "credit_policies",
    sa.column("id", sa.Integer()),
    sa.column("code", sa.String()),
    sa.column("version", sa.String()),
    sa.column("parameters", sa.JSON().with_variant(postgresql.JSONB(), "postgresql")),
)


def _rewrite(change: Any) -> None:
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(_policies.c.id, _policies.c.parameters).where(
            _policies.c.code == "jma", _policies.c.version == PRESET_VERSION
        )
    ).all()
    for row in rows:
        parameters = change(dict(row.parameters))
        if parameters is not None:
            connection.execute(
                sa.update(_policies).where(_policies.c.id == row.id).values(parameters=parameters)
            )


def upgrade() -> None:
    def add(parameters: dict[str, Any]) -> dict[str, Any] | None:
        if "requirement" in parameters:
            return None
        return {**parameters, "requirement": REQUIREMENT}

    _rewrite(add)


def downgrade() -> None:
    def remove(parameters: dict[str, Any]) -> dict[str, Any] | None:
        if "requirement" not in parameters:
            return None
        parameters.pop("requirement")
        return parameters

    _rewrite(remove)
