"""A lost audit key or signing identity stops the app, the CLI and the worker; a fresh instance makes one."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization

from cme_tracker import create_app
from cme_tracker.cli import main
from cme_tracker.db import Database
from cme_tracker.documents.identity import load_signing_identity
from cme_tracker.keys import LostKeysError
from cme_tracker.migrate import upgrade
from tests.conftest import TEST_AUDIT_KEY, CommandLine, migrated_database
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


def _private_keys_under(folder: Path) -> list[tuple[Path, object]]:
    keys = []
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            try:
                keys.append((path, serialization.load_pem_private_key(path.read_bytes(), password=None)))
            except ValueError:
                continue
    return keys


def test_the_society_root_private_key_is_not_kept_on_the_server(tmp_path: Path) -> None:
    identity = load_signing_identity(tmp_path)  # the first run generates the root and the signing key
    root_public = identity.root.public_key()
    keys = _private_keys_under(tmp_path / "signing")

    assert [path.name for path, _key in keys] == ["signing-key.pem"]
    assert not any(key.public_key() == root_public for _path, key in keys)  # type: ignore[attr-defined]
    assert identity.certificate.issuer == identity.root.subject
    identity.certificate.verify_directly_issued_by(identity.root)


def test_a_root_key_an_older_version_left_is_named_by_the_start_and_by_certificates_check(
    cli: CommandLine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    load_signing_identity(tmp_path)
    stray = tmp_path / "signing" / "identity" / "root-ca-key.pem"
    stray.write_bytes(b"-----BEGIN PRIVATE KEY-----\n...\n-----END PRIVATE KEY-----\n")

    checked = CliRunner().invoke(
        main, ["certificates", "check"], obj=cli.db, env={"CME_INSTANCE_PATH": str(tmp_path)}
    )
    assert checked.exit_code == 1
    assert f"{stray} holds the society root's private key" in checked.output
    assert "Move it off the server" in checked.output

    with caplog.at_level(logging.WARNING, logger="cme_tracker.keys"):
        create_app(
            {"TESTING": True, "DATABASE": cli.db, "INSTANCE_PATH": tmp_path, "AUDIT_KEY": TEST_AUDIT_KEY}
        )
    assert any(str(stray) in record.getMessage() for record in caplog.records)

    stray.unlink()
    checked = CliRunner().invoke(
        main, ["certificates", "check"], obj=cli.db, env={"CME_INSTANCE_PATH": str(tmp_path)}
    )
    assert checked.exit_code == 0, checked.output
