from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from cme_tracker.config import Settings, log_format
from cme_tracker.keys import ensure_instance_keys
from tests.conftest import TEST_AUDIT_KEY


def test_generated_secrets_are_private_to_the_owner_and_stable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CME_SECRET_KEY", raising=False)
    monkeypatch.delenv("CME_AUDIT_KEY", raising=False)
    monkeypatch.delenv("CME_DATABASE_URL", raising=False)
    # the audit key is saved once the (here empty, new) database is known to be fresh
    first = ensure_instance_keys(Settings.from_environment({"INSTANCE_PATH": tmp_path}))
    second = Settings.from_environment({"INSTANCE_PATH": tmp_path})
    assert not second.audit_key_unsaved
    assert first.secret_key == second.secret_key
    assert first.audit_key == second.audit_key != first.secret_key
    for name in ("secret_key", "audit_key"):
        mode = stat.S_IMODE((tmp_path / name).stat().st_mode)
        assert mode == 0o600, f"{name} is readable by others: {oct(mode)}"


def test_environment_variables_override_the_instance_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CME_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("CME_SECRET_KEY", "from-env")
    monkeypatch.setenv("CME_DATABASE_URL", "postgresql://cme@db/cme")
    monkeypatch.setenv("CME_PUBLIC_URL", "https://cme.example.org/")
    settings = Settings.from_environment()
    assert settings.instance_path == tmp_path
    assert settings.secret_key == "from-env"
    assert not (tmp_path / "secret_key").exists()
    assert settings.database_url == "postgresql://cme@db/cme"
    assert settings.public_url == "https://cme.example.org"


def test_default_database_is_sqlite_in_the_instance_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CME_DATABASE_URL", raising=False)
    settings = Settings.from_environment({"INSTANCE_PATH": tmp_path})
    assert settings.database_url == f"sqlite:///{tmp_path / 'cme-tracker.sqlite3'}"


def test_log_format_is_text_by_default_json_when_asked_and_nothing_else(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CME_LOG_FORMAT", raising=False)
    assert log_format() == "text"
    assert Settings.from_environment({"INSTANCE_PATH": tmp_path}).log_format == "text"
    monkeypatch.setenv("CME_LOG_FORMAT", " JSON ")
    assert log_format() == "json"
    assert Settings.from_environment({"INSTANCE_PATH": tmp_path}).log_format == "json"
    monkeypatch.setenv("CME_LOG_FORMAT", "xml")
    with pytest.raises(ValueError, match="CME_LOG_FORMAT must be one of text, json"):
        log_format()


def test_the_cap_on_workers_is_a_positive_number_and_defaults_to_the_cpus(tmp_path: Path) -> None:
    base = {"INSTANCE_PATH": tmp_path, "AUDIT_KEY": TEST_AUDIT_KEY}
    assert Settings.from_environment(base).job_workers == (os.cpu_count() or 1)
    assert Settings.from_environment({**base, "JOB_WORKERS": "3"}).job_workers == 3
    for wrong in ("0", "-1", "many"):
        with pytest.raises(ValueError, match="CME_JOB_WORKERS"):
            Settings.from_environment({**base, "JOB_WORKERS": wrong})
