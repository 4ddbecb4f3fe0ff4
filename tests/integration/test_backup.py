"""Backup and restore: an instance with issued certificates comes back whole into an empty instance.

The source instance is built once per module (issuing signs real PDFs): migrated through ``cme-tracker db
upgrade``, so its audit key and anchor are the instance's own files, then three certificates issued and one
revoked. Each test restores into a new empty instance folder and a new empty database of the kind under test.
"""

from __future__ import annotations

import stat
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select

from cme_tracker.certificates.issue import issue_attendance_certificates
from cme_tracker.cli import main
from cme_tracker.db import Database
from cme_tracker.documents.models import Certificate, CertificateStatus
from cme_tracker.documents.setup import DocumentSetup
from cme_tracker.migrate import upgrade
from tests.conftest import DatabaseFactory, migrated_database
from tests.factories import attend, make_lecture, make_member, make_symposium

PUBLIC_URL = "https://cme.example.org"
ENVIRONMENT = ("CME_AUDIT_KEY", "CME_SECRET_KEY", "CME_SIGNING_P12", "CME_AUDIT_ANCHOR", "CME_DATABASE_URL")


@pytest.fixture(autouse=True)
def _only_the_instances_own_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (*ENVIRONMENT, "CME_INSTANCE_PATH"):
        monkeypatch.delenv(name, raising=False)


@dataclass(frozen=True)
class Instance:
    """An instance folder and its database, driven through ``cme-tracker`` with its CME_* settings."""

    folder: Path
    url: str

    def run(self, *args: str) -> Result:
        """``cme-tracker ARGS`` in-process; a command other than backup and restore gets the instance's
        database handed in (as the ``cli`` fixture does), so that its engine is disposed of afterwards."""
        environment = {
            "CME_INSTANCE_PATH": str(self.folder),
            "CME_DATABASE_URL": self.url,
            "CME_PUBLIC_URL": PUBLIC_URL,
        }
        database = None if args[0] in ("backup", "restore") else self.database()
        try:
            return CliRunner().invoke(main, list(args), obj=database, env=environment, catch_exceptions=False)
        finally:
            if database is not None:
                database.engine.dispose()

    def create(self) -> None:
        """A new instance folder with its audit key, and its database migrated (as ``db upgrade`` does)."""
        self.folder.mkdir(parents=True)
        (self.folder / "audit_key").write_text(f"audit-key-of-{self.folder.name}\n")
        upgraded = self.run("db", "upgrade")
        assert upgraded.exit_code == 0, upgraded.output

    def database(self) -> Database:
        key = (self.folder / "audit_key").read_text().strip()
        return Database.connect(self.url, key, self.folder / "audit_anchor.json")

    def certificates(self) -> list[tuple[str, str, CertificateStatus]]:
        database = self.database()
        try:
            with database.sessions() as session:
                rows = session.execute(
                    select(Certificate.serial, Certificate.file_path, Certificate.status).order_by(
                        Certificate.id
                    )
                )
                return [(serial, path, status) for serial, path, status in rows]
        finally:
            database.engine.dispose()


@dataclass(frozen=True)
class Source:
    instance: Instance
    archive: Path
    """A full backup, made once."""


def _build_source(factory: DatabaseFactory, base: Path) -> Instance:
    source = Instance(base / "instance", factory.create("backup_source"))
    source.create()
    database = source.database()
    with database.unit_of_work() as session:
        symposium = make_symposium(session, "2026-05", date(2026, 5, 16), title_en="May CME Symposium")
        lecture = make_lecture(session, symposium, "10:00", "11:00")
        for index in range(3):
            attend(session, make_member(session, member_no=f"B{index:05d}"), lecture, "10:00", "11:00")
    report = issue_attendance_certificates(
        database, DocumentSetup(source.folder, public_url=PUBLIC_URL), "2026-05", actor="test"
    )
    database.engine.dispose()
    assert len(report.issued) == 3
    revoked = source.run("certificates", "revoke", source.certificates()[0][0], "--reason", "wrong desk")
    assert revoked.exit_code == 0, revoked.output
    return source


@pytest.fixture(scope="module")
def source(database_factory: DatabaseFactory, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Source]:
    base = tmp_path_factory.mktemp("backup")
    instance = _build_source(database_factory, base)
    archive = base / "full.tar.gz"
    made = instance.run("backup", "--out", str(archive))
    assert made.exit_code == 0, made.output
    yield Source(instance, archive)


@pytest.fixture
def target(fresh_database_url: str, tmp_path: Path) -> Instance:
    """An empty instance folder (not created yet) and an empty database."""
    return Instance(tmp_path / "restored", fresh_database_url)


def members_of(archive: Path) -> list[str]:
    with tarfile.open(archive) as tar:
        return tar.getnames()


def test_a_restored_backup_verifies_every_certificate_and_the_audit_log(
    source: Source, target: Instance
) -> None:
    assert stat.S_IMODE(source.archive.stat().st_mode) == 0o600
    assert not list(source.archive.parent.glob(".*.partial")), "no temporary archive is left behind"

    restored = target.run("restore", str(source.archive))

    assert restored.exit_code == 0, restored.output
    assert "audit log intact" in restored.output
    assert "3 issued document(s): every file matches its SHA-256" in restored.output
    certificates = target.certificates()
    assert certificates == source.instance.certificates()
    for serial, path, status in certificates:
        verified = target.run("certificates", "verify", str(target.folder / path))
        if status is CertificateStatus.VALID:
            assert verified.exit_code == 0 and verified.output.startswith("valid"), (serial, verified.output)
        else:
            assert verified.exit_code == 1 and "revoked" in verified.output, (serial, verified.output)
    audit = target.run("audit", "verify")
    assert audit.exit_code == 0, audit.output
    for name in ("audit_key", "secret_key", "signing/identity/signing-key.pem"):
        assert (target.folder / name).read_bytes() == (source.instance.folder / name).read_bytes(), name
    assert stat.S_IMODE(target.folder.stat().st_mode) == 0o700
    for path in target.folder.rglob("*"):
        assert stat.S_IMODE(path.stat().st_mode) == (0o700 if path.is_dir() else 0o600), path


def test_the_restored_instance_keeps_working(source: Source, target: Instance) -> None:
    assert target.run("restore", str(source.archive)).exit_code == 0
    revoked = target.run("certificates", "revoke", target.certificates()[1][0], "--reason", "duplicate")
    assert revoked.exit_code == 0, revoked.output
    audit = target.run("audit", "verify")
    assert audit.exit_code == 0, audit.output


def test_restore_check_tells_what_the_archive_holds_without_restoring(
    source: Source, target: Instance
) -> None:
    checked = target.run("restore", "--check", str(source.archive))

    assert checked.exit_code == 0, checked.output
    kind = "postgresql" if source.instance.url.startswith("postgresql") else "sqlite"
    assert "full.tar.gz: a full backup" in checked.output
    assert f"database: {kind} at migration revision" in checked.output
    assert "counts: 3 members, 3 certificates," in checked.output
    assert "keys: included (the audit key, the secret key, the signing identity)" in checked.output
    assert "every SHA-256 and size matches the manifest" in checked.output
    assert not target.folder.exists()


def test_restore_check_refuses_an_archive_with_one_changed_byte_naming_the_file(
    source: Source, tmp_path: Path, target: Instance
) -> None:
    archive = tmp_path / "plain.tar"
    assert source.instance.run("backup", "--out", str(archive)).exit_code == 0
    with tarfile.open(archive) as tar:
        pdf = next(member for member in tar.getmembers() if member.name.endswith(".pdf"))
    data = bytearray(archive.read_bytes())
    data[pdf.offset_data + pdf.size // 2] ^= 0x01
    archive.write_bytes(bytes(data))

    checked = target.run("restore", "--check", str(archive))

    assert checked.exit_code == 1
    assert f"{pdf.name} was changed" in checked.output
    refused = target.run("restore", str(archive))
    assert refused.exit_code == 1 and f"{pdf.name} was changed" in refused.output
    assert not target.folder.exists(), "nothing is restored from a changed archive"


def test_restore_check_refuses_an_archive_missing_a_file(
    source: Source, tmp_path: Path, target: Instance
) -> None:
    cut = tmp_path / "cut.tar"
    with tarfile.open(source.archive) as full, tarfile.open(cut, "w") as copy:
        missing = next(name for name in full.getnames() if name.endswith(".pdf"))
        for member in full.getmembers():
            if member.name != missing:
                copy.addfile(member, full.extractfile(member))

    checked = target.run("restore", "--check", str(cut))

    assert checked.exit_code == 1
    assert f"{missing} is missing from the archive" in checked.output


def test_restore_refuses_a_database_that_is_not_empty(source: Source, target: Instance) -> None:
    migrated_database(target.url).engine.dispose()

    refused = target.run("restore", str(source.archive))

    assert refused.exit_code == 1
    assert "the database is not empty: it holds the tables" in refused.output
    assert "alembic_version" in refused.output
    assert not target.folder.exists(), "nothing is written when the restore is refused"


def test_restore_refuses_an_instance_folder_that_is_not_empty(source: Source, target: Instance) -> None:
    target.folder.mkdir()
    (target.folder / "notes.txt").write_text("kept\n")

    refused = target.run("restore", str(source.archive))

    assert refused.exit_code == 1
    assert f"the instance folder {target.folder} is not empty: it holds notes.txt" in refused.output
    assert sorted(path.name for path in target.folder.iterdir()) == ["notes.txt"]


def test_an_archive_without_keys_holds_no_key_and_restores_only_with_the_keys_archive(
    source: Source, tmp_path: Path, target: Instance
) -> None:
    data, keys = tmp_path / "offsite.tar.xz", tmp_path / "keys.tar"
    made = source.instance.run("backup", "--out", str(data), "--without-keys")
    assert made.exit_code == 0, made.output
    assert source.instance.run("backup", "--keys-only", "--out", str(keys)).exit_code == 0

    names = members_of(data)
    assert not [name for name in names if name.startswith("keys/")]
    assert any(name.endswith(".pdf") for name in names)
    with tarfile.open(data) as tar:
        archived = b"".join(
            tar.extractfile(member).read()  # type: ignore[union-attr]
            for member in tar.getmembers()
            if not member.name.startswith("database/")
        )
    for secret in ("audit_key", "secret_key", "signing/identity/signing-key.pem"):
        assert (source.instance.folder / secret).read_bytes().strip() not in archived, secret
    assert sorted(members_of(keys)) == [
        "keys/audit_key",
        "keys/secret_key",
        "keys/signing/identity/root-ca.pem",
        "keys/signing/identity/signing-cert.pem",
        "keys/signing/identity/signing-key.pem",
        "manifest.json",
    ]
    checked = target.run("restore", "--check", str(data))
    assert "keys: not included (made with --without-keys)" in checked.output

    refused = target.run("restore", str(data))
    assert refused.exit_code == 1 and "--keys KEYS_FILE" in refused.output
    assert not target.folder.exists()

    restored = target.run("restore", str(data), "--keys", str(keys))
    assert restored.exit_code == 0, restored.output
    assert "3 issued document(s): every file matches its SHA-256" in restored.output
    assert target.run("audit", "verify").exit_code == 0


def test_the_keys_archive_of_another_instance_is_refused(
    source: Source, tmp_path: Path, target: Instance, database_factory: DatabaseFactory
) -> None:
    data, keys = tmp_path / "offsite.tar", tmp_path / "other-keys.tar"
    assert source.instance.run("backup", "--out", str(data), "--without-keys").exit_code == 0
    other = Instance(tmp_path / "other", database_factory.create("backup_other"))
    other.create()
    assert other.run("backup", "--keys-only", "--out", str(keys)).exit_code == 0

    refused = target.run("restore", str(data), "--keys", str(keys))

    assert refused.exit_code == 1
    assert "does not hold the keys of offsite.tar: keys/audit_key is another key" in refused.output
    assert not target.folder.exists()


def test_an_archive_of_an_older_revision_is_migrated_to_the_head(
    tmp_path: Path, target: Instance, database_factory: DatabaseFactory
) -> None:
    older = Instance(tmp_path / "older", database_factory.create("backup_older"))
    older.folder.mkdir()
    (older.folder / "audit_key").write_text("older-audit-key\n")
    database = older.database()
    upgrade(database.engine, "0007")
    database.engine.dispose()
    archive = tmp_path / "older.tar"
    made = older.run("backup", "--out", str(archive))
    assert made.exit_code == 0, made.output
    assert "at revision 0007" in made.output

    restored = target.run("restore", str(archive))

    assert restored.exit_code == 0, restored.output
    assert "migrated the database from revision 0007 to" in restored.output
    assert target.run("db", "check").exit_code == 0
    assert target.run("audit", "verify").exit_code == 0


def test_a_failed_backup_leaves_no_archive_behind(tmp_path: Path, database_factory: DatabaseFactory) -> None:
    unmigrated = Instance(tmp_path / "unmigrated", database_factory.create("backup_unmigrated"))
    if unmigrated.url.startswith("sqlite"):
        Path(unmigrated.url.removeprefix("sqlite:///")).touch()
    out = tmp_path / "out" / "backup.tar.gz"

    failed = unmigrated.run("backup", "--out", str(out))

    assert failed.exit_code == 1
    assert "no migration revision" in failed.output
    assert not out.exists() and list(out.parent.iterdir()) == []
    assert not list(unmigrated.folder.glob(".*")), "no database copy is left in the instance folder"
