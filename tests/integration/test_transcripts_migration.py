"""The data migration that gives the shipped jma preset its multi-year requirement, up and down."""

from __future__ import annotations

from alembic import command
from sqlalchemy import select

from cme_tracker.credits.models import CreditPolicyVersion
from cme_tracker.credits.presets import JMA, PRESETS
from cme_tracker.db import Database
from cme_tracker.migrate import alembic_config, differences, upgrade

BEFORE = "0003"


def _parameters(database: Database) -> dict[str, dict[str, object]]:
    with database.sessions() as session:
        return {row.code: dict(row.parameters) for row in session.scalars(select(CreditPolicyVersion))}


def test_the_jma_preset_row_gains_its_requirement_and_loses_it_on_downgrade(fresh_database_url: str) -> None:
    database = Database.connect(fresh_database_url, "test-audit-key")
    upgrade(database.engine, BEFORE)
    with database.unit_of_work() as session:
        for preset in PRESETS:  # as install_presets stored them before requirements existed
            parameters = preset.to_parameters()
            parameters.pop("requirement", None)
            session.add(
                CreditPolicyVersion(
                    code=preset.code,
                    version=preset.version,
                    effective_from=preset.effective_from,
                    parameters=parameters,
                )
            )
    before = _parameters(database)

    upgrade(database.engine)

    after = _parameters(database)
    assert after["jma"] == JMA.to_parameters()
    assert {code: after[code] for code in after if code != "jma"} == {
        code: before[code] for code in before if code != "jma"
    }
    assert differences(database.engine) == []
    config = alembic_config()
    with database.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, BEFORE)
    assert _parameters(database) == before
    database.engine.dispose()
