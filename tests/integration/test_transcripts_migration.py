"""The data migration that gives the shipped jma preset its multi-year requirement, up and down."""

from __future__ import annotations

from alembic import command
from sqlalchemy import Boolean, Date, String, column, insert, select, table

from cme_tracker.credits.models import CreditPolicyVersion
from cme_tracker.credits.presets import JMA, PRESETS
from cme_tracker.db import Database, JSONDocument, UTCDateTime, utcnow
from cme_tracker.migrate import alembic_config, differences, upgrade

BEFORE = "0003"
OLD_POLICIES = table(
    "credit_policies",
    column("code", String),
    column("version", String),
    column("effective_from", Date),
    column("enabled", Boolean),
    column("parameters", JSONDocument),
    column("created_at", UTCDateTime),
)


def _parameters(database: Database) -> dict[str, dict[str, object]]:
    with database.sessions() as session:
        rows = session.execute(select(CreditPolicyVersion.code, CreditPolicyVersion.parameters))
        return {code: dict(parameters) for code, parameters in rows}


def test_the_jma_preset_row_gains_its_requirement_and_loses_it_on_downgrade(fresh_database_url: str) -> None:
    database = Database.connect(fresh_database_url, "test-audit-key")
    upgrade(database.engine, BEFORE)
    with database.unit_of_work() as session:
        for preset in PRESETS:  # as install_presets stored them before requirements existed
            parameters = preset.to_parameters()
            parameters.pop("requirement", None)
            session.execute(  # the table's columns of that revision only
                insert(OLD_POLICIES).values(
                    code=preset.code,
                    version=preset.version,
                    effective_from=preset.effective_from,
                    enabled=True,
                    parameters=parameters,
                    created_at=utcnow(),
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
