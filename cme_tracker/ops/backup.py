"""What a backup holds, and how it is read from a running instance without stopping it.

The parts are read in an order that keeps them consistent while the service runs: the audit anchor first (it
only advances after a commit, so it is at or behind the database read next), then the database in one snapshot
(SQLite's online backup; ``pg_dump`` of an exported snapshot, from which the manifest's counts are read too),
then the issued files (written and renamed before their rows commit, so every row of the snapshot has its
file; a newer file without a row is swept by the next issuing run).
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from importlib.metadata import version
from pathlib import Path
from typing import Any

from sqlalchemy import make_url, text
from sqlalchemy.exc import SQLAlchemyError

from cme_tracker.config import AUDIT_KEY_FILE, SECRET_KEY_FILE, Settings
from cme_tracker.db import create_db_engine
from cme_tracker.errors import DomainError
from cme_tracker.keys import generated_identity_dir
from cme_tracker.ops.archive import (
    ANCHOR,
    DATABASE,
    INSTANCE,
    KEYS,
    ArchiveWriter,
    Entry,
    manifest_bytes,
    writing,
)

ISSUED_FOLDERS = ("certificates", "exports")
"""The instance's folders of issued files: the documents' PDFs, and the exports the job pages hand out.
Not backed up: logs, job slots, locks, the outbox of delivered mail and the demo's input files."""
TEMPORARY_SUFFIXES = (".partial", ".lock", ".tmp")
SIGNING_FOLDER = "signing"

SQLITE_MEMBER = f"{DATABASE}/cme-tracker.sqlite3"
POSTGRES_MEMBER = f"{DATABASE}/cme-tracker.pgdump"

COUNTED_TABLES = {"members": "members", "certificates": "certificates", "audit_events": "audit_events"}
"""The manifest's counts, and the tables they count."""


class BackupError(DomainError):
    """The backup could not be made; the message says what to fix."""

    code = "backup_failed"


class Contents(StrEnum):
    """What an archive holds."""

    FULL = "full"
    WITHOUT_KEYS = "without-keys"
    """Everything but the keys: for off-site copies; restoring it needs the keys archive too."""
    KEYS = "keys"
    """The keys only, kept apart from the data backups."""


@dataclass(frozen=True)
class KeyFiles:
    """The instance's keys as files to archive, and the keys it takes from elsewhere (not archived)."""

    files: list[tuple[str, Path]]
    """(member name, path) of each key file in the instance folder."""
    elsewhere: dict[str, str]
    """Key name: where it comes from instead (an environment variable), for the operator to keep."""


def secret_from_environment(env_var: str) -> bool:
    """Whether the process takes this secret from the environment (which wins over the instance's file)."""
    return bool(os.environ.get(env_var))


def key_files(settings: Settings) -> KeyFiles:
    """The keys a restored instance needs: the audit key, the secret key and the signing identity."""
    folder = settings.instance_path
    files: list[tuple[str, Path]] = []
    elsewhere: dict[str, str] = {}
    for name, file_name, env_var in (
        ("audit_key", AUDIT_KEY_FILE, "CME_AUDIT_KEY"),
        ("secret_key", SECRET_KEY_FILE, "CME_SECRET_KEY"),
    ):
        if secret_from_environment(env_var):
            elsewhere[name] = env_var
        elif (folder / file_name).is_file():
            files.append((f"{KEYS}/{file_name}", folder / file_name))
    if settings.signing_p12 is not None:
        elsewhere["signing_identity"] = "CME_SIGNING_P12"
    signing = folder / SIGNING_FOLDER
    if generated_identity_dir(folder).is_dir():
        for path in _files_below(signing):
            files.append((f"{KEYS}/{path.relative_to(folder).as_posix()}", path))
    return KeyFiles(files, elsewhere)


def _files_below(folder: Path) -> Iterator[Path]:
    """The regular files below ``folder`` in name order, without hidden and temporary ones."""
    if not folder.is_dir():
        return
    for root, folders, names in os.walk(folder):
        folders[:] = sorted(name for name in folders if not name.startswith("."))
        for name in sorted(names):
            path = Path(root) / name
            if name.startswith(".") or name.endswith(TEMPORARY_SUFFIXES) or not path.is_file():
                continue
            yield path


@dataclass
class DatabaseCopy:
    """The database as one file, with what the manifest says of it."""

    kind: str
    member: str
    path: Path
    revision: str
    counts: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class BackupReport:
    out: Path
    contents: Contents
    manifest: dict[str, Any]
    size: int
    files: int
    """How many files the archive holds besides its manifest."""


def write_backup(settings: Settings, out: Path, contents: Contents) -> BackupReport:
    """Write the archive ``out`` of the instance ``settings`` describes; see :class:`Contents`."""
    keys = key_files(settings)
    manifest: dict[str, Any] = {
        "contents": contents.value,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "app_version": version("cme-tracker"),
        "instance_path": str(settings.instance_path),
        "database": None,
        "counts": None,
        "keys": {
            "included": contents is not Contents.WITHOUT_KEYS,
            "kept_elsewhere": keys.elsewhere,
            "left_out": [],
        },
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    with writing(out) as archive:
        if contents is not Contents.KEYS:
            manifest["keys"]["left_out"] = _add_data(settings, archive, manifest, keys, contents)
        if contents is not Contents.WITHOUT_KEYS:
            for name, path in keys.files:
                archive.add_file(name, path)
        files = len(archive.entries)
        archive.add_bytes("manifest.json", manifest_bytes(manifest, archive.entries))
    return BackupReport(out, contents, manifest, out.stat().st_size, files)


def _add_data(
    settings: Settings, archive: ArchiveWriter, manifest: dict[str, Any], keys: KeyFiles, contents: Contents
) -> list[dict[str, Any]]:
    """Add the anchor, the database and the issued files; the fingerprints of the keys left out."""
    from cme_tracker.audit import anchor

    anchor.flush()
    anchor_data = (
        settings.audit_anchor.read_bytes()
        if settings.audit_anchor and settings.audit_anchor.is_file()
        else None
    )
    with (
        tempfile.TemporaryDirectory(prefix=".backup-", dir=archive_workdir(settings)) as workdir,
        copied_database(settings.database_url, Path(workdir)) as copy,
    ):
        manifest["database"] = {"kind": copy.kind, "alembic_revision": copy.revision, "file": copy.member}
        manifest["counts"] = copy.counts
        archive.add_file(copy.member, copy.path)
    if anchor_data is not None:
        archive.add_bytes(ANCHOR, anchor_data)
    for folder in ISSUED_FOLDERS:
        for path in _files_below(settings.instance_path / folder):
            archive.add_file(f"{INSTANCE}/{path.relative_to(settings.instance_path).as_posix()}", path)
    if contents is not Contents.WITHOUT_KEYS:
        return []
    left_out = []
    for name, path in keys.files:
        data = path.read_bytes()
        left_out.append(dataclasses.asdict(Entry(name, _sha256(data), len(data))))
    return left_out


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def archive_workdir(settings: Settings) -> Path:
    """Where the database copy is made on its way into the archive: the instance folder, which is private and
    large enough for the database."""
    return settings.instance_path


@contextmanager
def copied_database(url: str, workdir: Path) -> Iterator[DatabaseCopy]:
    """The database at ``url`` as one file in ``workdir``, read in one snapshot."""
    if url.startswith("sqlite"):
        yield _sqlite_copy(url, workdir)
    elif url.startswith("postgresql"):
        with _postgres_dump(url, workdir) as copy:
            yield copy
    else:
        raise BackupError(
            f"cannot back up a {make_url(url).get_backend_name()} database: only SQLite and PostgreSQL"
        )


def sqlite_path(url: str) -> Path:
    """The file of a SQLite database URL; an in-memory database has none."""
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError(
            "the database is an in-memory SQLite database: there is nothing to back up or restore"
        )
    return Path(database).resolve()


def _sqlite_copy(url: str, workdir: Path) -> DatabaseCopy:
    source_path = sqlite_path(url)
    if not source_path.is_file():
        raise BackupError(f"there is no SQLite database at {source_path}: check CME_DATABASE_URL")
    target_path = workdir / "cme-tracker.sqlite3"
    source = sqlite3.connect(source_path, timeout=30)
    target = sqlite3.connect(target_path)
    try:
        source.backup(target)  # the online backup API: a consistent copy while others keep writing
        target.execute("PRAGMA journal_mode = DELETE")  # one self-contained file, without a -wal beside it
        revision, counts = _describe(lambda sql: target.execute(sql).fetchall())
    finally:
        target.close()
        source.close()
    return DatabaseCopy("sqlite", SQLITE_MEMBER, target_path, revision, counts)


def libpq_url(url: str) -> tuple[str, dict[str, str]]:
    """The URL for ``pg_dump``/``pg_restore`` without its password, and the environment that gives it, so the
    password does not appear in the process list."""
    parsed = make_url(url).set(drivername="postgresql")
    environment = dict(os.environ)
    if parsed.password is not None:
        environment["PGPASSWORD"] = str(parsed.password)
    return parsed.set(password=None).render_as_string(hide_password=False), environment


@contextmanager
def _postgres_dump(url: str, workdir: Path) -> Iterator[DatabaseCopy]:
    engine = create_db_engine(url)
    dump = workdir / "cme-tracker.pgdump"
    try:
        with engine.connect() as connection:
            connection = connection.execution_options(isolation_level="REPEATABLE READ")
            with connection.begin():
                snapshot = connection.scalar(text("SELECT pg_export_snapshot()"))
                revision, counts = _describe(lambda sql: list(connection.execute(text(sql)).all()))
                dump_url, environment = libpq_url(url)
                run_pg_tool(
                    [
                        "pg_dump",
                        "--format=custom",
                        "--no-password",
                        f"--snapshot={snapshot}",
                        f"--file={dump}",
                        f"--dbname={dump_url}",
                    ],
                    environment,
                )
        yield DatabaseCopy("postgresql", POSTGRES_MEMBER, dump, revision, counts)
    finally:
        engine.dispose()


def run_pg_tool(command: list[str], environment: dict[str, str]) -> None:
    """Run ``pg_dump`` or ``pg_restore``; its complaint, if any, becomes the error's message."""
    try:
        subprocess.run(  # noqa: S603 - the PostgreSQL client tools, with arguments we build
            command, env=environment, check=True, capture_output=True, text=True
        )
    except FileNotFoundError as error:
        raise BackupError(
            f"{command[0]} is not installed: install the PostgreSQL client tools (Debian: postgresql-client) "
            "of the server's major version or newer"
        ) from error
    except subprocess.CalledProcessError as error:
        raise BackupError(
            f"{command[0]} failed: {error.stderr.strip() or f'exit code {error.returncode}'}"
        ) from error


def _describe(query: Any) -> tuple[str, dict[str, int]]:
    """The database's migration revision and the manifest's counts, read with ``query(sql) -> rows``."""
    try:
        revisions = sorted(str(row[0]) for row in query("SELECT version_num FROM alembic_version"))
    except (sqlite3.Error, SQLAlchemyError) as error:  # no such table
        raise BackupError(
            "the database has no migration revision (no alembic_version table): it is not a cme-tracker "
            "database, or it was never migrated (cme-tracker db upgrade)"
        ) from error
    counts = {
        name: int(query(f"SELECT count(*) FROM {table}")[0][0])  # noqa: S608 - our own table names
        for name, table in COUNTED_TABLES.items()
    }
    return ",".join(revisions), counts


def copy_file_privately(source: Path, target: Path) -> None:
    """Copy ``source`` to ``target`` (owner only) under a temporary name, flushed, then renamed."""
    temporary = target.with_name(f".{target.name}.{os.getpid()}.partial")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as handle, open(source, "rb") as reading:
            shutil.copyfileobj(reading, handle, 1024 * 1024)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
