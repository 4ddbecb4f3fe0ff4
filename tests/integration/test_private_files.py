"""What the app and the CLI create under the instance folder is the owner's only, whatever the umask."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from cme_tracker import create_app
from cme_tracker.documents.storage import CertificateStore
from tests.conftest import TEST_AUDIT_KEY


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The usual umask of a shell (0022), restored after the test: create_app sets the process's own."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_the_cli_creates_the_database_folder_and_keys_private(tmp_path: Path) -> None:
    instance = tmp_path / "instance"
    environment = {
        **{key: value for key, value in os.environ.items() if not key.startswith("CME_")},
        "CME_INSTANCE_PATH": str(instance),
    }
    finished = subprocess.run(
        [sys.executable, "-m", "cme_tracker", "db", "upgrade"],
        capture_output=True,
        text=True,
        env=environment,
        check=False,
        timeout=120,
        preexec_fn=lambda: os.umask(0o022),
    )
    assert finished.returncode == 0, finished.stderr[-2000:]
    assert _mode(instance) == 0o700
    assert _mode(instance / "cme-tracker.sqlite3") == 0o600
    for path in instance.rglob("*"):
        assert _mode(path) == (0o700 if path.is_dir() else 0o600), path


def test_the_app_creates_its_folders_and_issued_files_private(
    tmp_path: Path, db: object, open_umask: None
) -> None:
    instance = tmp_path / "instance"
    create_app({"TESTING": True, "DATABASE": db, "INSTANCE_PATH": instance, "AUDIT_KEY": TEST_AUDIT_KEY})
    stored = CertificateStore(instance).write("attendance/2026-05", "A26-TEST-0001", b"%PDF-1.7")
    assert _mode(instance) == 0o700
    assert _mode(instance / "certificates") == 0o700
    assert _mode(instance / stored.relative_path) == 0o600
    assert _mode(instance / "secret_key") == 0o600
