"""A lost audit key or signing identity stops the app, the CLI and the worker; a fresh instance makes one."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from cme_tracker import create_app
from cme_tracker.cli import main
from cme_tracker.db import Database
from cme_tracker.keys import LostKeysError
from cme_tracker.migrate import upgrade
from tests.conftest import TEST_AUDIT_KEY, migrated_database
from tests.integration.certificate_world import World, world

__all__ = ["world"]


@pytest.fixture(autouse=True)
def _no_keys_in_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CME_AUDIT_KEY", "CME_SIGNING_P12", "CME_SECRET_KEY", "CME_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)


def test_a_fresh_instance_saves_its_new_audit_key_privately(fresh_database_url: str, tmp_path: Path) -> None:
    database = Database.connect(fresh_database_url, TEST_AUDIT_KEY)
    upgrade(database.engine)
    database.engine.dispose()
    app = create_app({"TESTING": True, "DATABASE_URL": fresh_database_url, "INSTANCE_PATH": tmp_path})
    saved = tmp_path / "audit_key"
    assert saved.read_text().strip() == app.extensions["cme_settings"].audit_key
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    app.extensions["cme_db"].engine.dispose()


def test_a_lost_audit_key_over_audit_events_stops_the_app_and_the_cli(
    fresh_database_url: str, tmp_path: Path
) -> None:
    migrated_database(fresh_database_url).engine.dispose()  # installing the presets records audit events
    with pytest.raises(LostKeysError) as refused:
        create_app({"TESTING": True, "DATABASE_URL": fresh_database_url, "INSTANCE_PATH": tmp_path})
    assert "audit key" in refused.value.message and "CME_AUDIT_KEY" in refused.value.message
    assert "backup of the instance folder" in refused.value.message
    assert not (tmp_path / "audit_key").exists(), "no new key is saved over existing data"

    env = {"CME_DATABASE_URL": fresh_database_url, "CME_INSTANCE_PATH": str(tmp_path)}
    for command in (["audit", "verify"], ["worker", "--once"]):
        result = CliRunner().invoke(main, command, env=env)
        assert result.exit_code == 1, command
        assert "CME_AUDIT_KEY" in result.output, command
    assert not (tmp_path / "audit_key").exists()


def test_a_lost_signing_identity_over_issued_documents_stops_the_app(world: World, tmp_path: Path) -> None:
    assert (world.instance / "signing" / "identity").is_dir()
    with pytest.raises(LostKeysError) as refused:
        world.app(INSTANCE_PATH=tmp_path)
    assert "signing identity" in refused.value.message and "CME_SIGNING_P12" in refused.value.message
    assert "audit key" not in refused.value.message
    assert not (tmp_path / "signing").exists(), "no new identity is generated over issued documents"
