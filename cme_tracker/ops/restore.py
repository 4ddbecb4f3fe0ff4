"""Restoring an archive into an empty instance folder and an empty database, and checking the result.

Nothing is written before the archive (and the keys archive) matched their manifests and the target was found
empty, so a refused restore changes nothing. A restore that stops half-way names what to empty before trying
again. Afterwards the database is migrated to this version's head, and the restored instance is checked as an
auditor would: the audit chain with its anchor, and every issued document's file against its SHA-256.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.exc import SQLAlchemyError

from cme_tracker import config
from cme_tracker.db import Database, create_db_engine
from cme_tracker.errors import DomainError
from cme_tracker.ops.archive import (
    ANCHOR,
    DATABASE,
    INSTANCE,
    KEYS,
    ArchiveError,
    CheckedArchive,
    Readable,
    read_members,
)
from cme_tracker.ops.backup import (
    BackupError,
    Contents,
    copy_file_privately,
    libpq_url,
    run_pg_tool,
    sqlite_path,
)

_CHUNK = 1024 * 1024
KEY_NAMES = {
    "audit_key": "the audit key",
    "secret_key": "the secret key",
    "signing_identity": "the signing identity",
}
KEY_VARIABLES = {"audit_key": "CME_AUDIT_KEY", "secret_key": "CME_SECRET_KEY"}


class RestoreRefused(DomainError):
    """The restore would overwrite something, or lacks a part; nothing was written."""

    code = "restore_refused"


@dataclass(frozen=True)
class Target:
    """Where the restore writes: the configured instance folder, database and audit anchor."""

    instance_path: Path
    database_url: str
    anchor_path: Path

    @classmethod
    def from_environment(cls) -> Target:
        """Read from ``CME_*`` like every command, without creating the instance folder or a key."""
        folder = config.instance_path()
        return cls(folder, config.database_url(folder), config.audit_anchor_path(folder))

    @property
    def database_kind(self) -> str:
        return "sqlite" if self.database_url.startswith("sqlite") else "postgresql"


@dataclass
class RestoreReport:
    """What the restore did, and what its check of the result found wrong (empty: all is well)."""

    done: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def describe(archive: CheckedArchive) -> list[str]:
    """What an archive holds, from its manifest, in lines for a person."""
    manifest = archive.manifest
    contents = archive.contents
    kind = {
        Contents.FULL.value: "a full backup (database, issued files and keys)",
        Contents.WITHOUT_KEYS.value: "a backup without the keys (database and issued files)",
        Contents.KEYS.value: "the keys of an instance (no data)",
    }.get(contents, contents)
    lines = [
        f"{archive.path.name}: {kind}",
        f"created {manifest.get('created_at')} by cme-tracker {manifest.get('app_version')} "
        f"from {manifest.get('instance_path')}",
    ]
    database = manifest.get("database")
    if database:
        lines.append(f"database: {database['kind']} at migration revision {database['alembic_revision']}")
    counts = manifest.get("counts")
    if counts:
        lines.append(
            f"counts: {counts['members']} members, {counts['certificates']} certificates, "
            f"{counts['audit_events']} audit events"
        )
    keys = manifest["keys"]
    files = archive.entries
    if contents == Contents.WITHOUT_KEYS.value:
        lines.append(
            "keys: not included (made with --without-keys): restoring needs the keys archive (--keys)"
        )
    else:
        held = sorted({_key_label(name) for name in files if name.startswith(f"{KEYS}/")})
        lines.append(f"keys: included ({', '.join(held) or 'none found in the instance folder'})")
    for name, variable in sorted(keys.get("kept_elsewhere", {}).items()):
        lines.append(
            f"not in the archive: {KEY_NAMES.get(name, name)}, set by {variable}: the operator keeps it"
        )
    issued = sum(1 for name in files if name.startswith(f"{INSTANCE}/"))
    lines.append(f"files: {len(files)} ({issued} issued), every SHA-256 and size matches the manifest")
    return lines


def _key_label(member: str) -> str:
    relative = member.removeprefix(f"{KEYS}/")
    if relative.startswith("signing/"):
        return KEY_NAMES["signing_identity"]
    return KEY_NAMES.get(relative, relative)


def check_keys_match(data: CheckedArchive, keys: CheckedArchive) -> None:
    """Refuse a keys archive that is not the keys archive of ``data`` (made --without-keys)."""
    if keys.contents != Contents.KEYS.value:
        raise RestoreRefused(
            f"{keys.path.name} is not a keys archive (it is a {keys.contents} backup): give the archive made "
            "with cme-tracker backup --keys-only"
        )
    if data.contents != Contents.WITHOUT_KEYS.value:
        raise RestoreRefused(
            f"{data.path.name} holds its keys already: --keys is for an archive made with --without-keys"
        )
    held = keys.entries
    for expected in data.manifest["keys"]["left_out"]:
        found = held.get(str(expected["path"]))
        if found is None or found.sha256 != expected["sha256"]:
            raise RestoreRefused(
                f"{keys.path.name} does not hold the keys of {data.path.name}: "
                f"{expected['path']} is {'missing' if found is None else 'another key'}; "
                "give the keys archive of the instance this backup was made from"
            )


def check_archives(data_path: Path, keys_path: Path | None) -> tuple[CheckedArchive, CheckedArchive | None]:
    """Both archives checked against their manifests, and against each other."""
    data = read_members(data_path)
    keys = read_members(keys_path) if keys_path is not None else None
    if keys is not None:
        check_keys_match(data, keys)
    return data, keys


def restore(data_path: Path, keys_path: Path | None, target: Target) -> RestoreReport:
    """Restore the archive (with its keys archive) into ``target``, migrate it and check the result."""
    data, keys = check_archives(data_path, keys_path)
    if data.contents == Contents.KEYS.value:
        raise RestoreRefused(
            f"{data.path.name} holds only keys: restore the data archive and give this one with --keys"
        )
    if data.contents == Contents.WITHOUT_KEYS.value and keys is None:
        raise RestoreRefused(
            f"{data.path.name} was made with --without-keys: give the keys archive too "
            "(cme-tracker restore FILE --keys KEYS_FILE)"
        )
    database = data.manifest["database"]
    if database["kind"] != target.database_kind:
        raise RestoreRefused(
            f"{data.path.name} holds a {database['kind']} database, but CME_DATABASE_URL names a "
            f"{target.database_kind} one: restore into a database of the same kind"
        )
    revision = str(database["alembic_revision"])
    head = _known_revision(revision, data)
    _check_environment_keys(data, keys)
    _check_empty(target)

    report = RestoreReport()
    _private_folder(target.instance_path)
    workdir = target.instance_path / f".restore-{os.getpid()}"
    _private_folder(workdir)
    try:
        try:
            _extract(data, target, workdir)
            if keys is not None:
                _extract(keys, target, workdir)
            _restore_database(target, workdir / PurePosixPath(str(database["file"])).name)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
    except (ArchiveError, BackupError, OSError) as error:
        message = error.message if isinstance(error, DomainError) else str(error)
        raise DomainError(
            f"the restore stopped: {message}. Empty the instance folder {target.instance_path} and the "
            "database, then run it again"
        ) from error
    files = data.entries
    report.done.append(
        f"restored {data.path.name} (created {data.manifest['created_at']}) into {target.instance_path}: "
        f"the {database['kind']} database, {sum(1 for name in files if name.startswith(INSTANCE + '/'))} "
        f"issued file(s), {'the audit anchor, ' if ANCHOR in files else ''}"
        f"{sum(1 for name in (keys.entries if keys else files) if name.startswith(KEYS + '/'))} key file(s)"
    )
    _migrate_and_check(target, revision, head, report)
    return report


def _known_revision(revision: str, data: CheckedArchive) -> str:
    """This version's head revision; refuse an archive from a revision it does not know (a newer version)."""
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    from cme_tracker.migrate import alembic_config

    script = ScriptDirectory.from_config(alembic_config())
    try:
        for name in revision.split(","):
            if script.get_revision(name) is None:
                raise CommandError(name)
    except CommandError as error:
        raise RestoreRefused(
            f"{data.path.name} is at migration revision {revision}, which this version of cme-tracker does "
            f"not know: restore it with cme-tracker {data.manifest['app_version']} or newer"
        ) from error
    return str(script.get_current_head())


def _check_environment_keys(data: CheckedArchive, keys: CheckedArchive | None) -> None:
    """The keys the archive says the operator keeps must be configured; one the archive holds must not be
    overridden by another in the environment."""
    elsewhere = data.manifest["keys"].get("kept_elsewhere", {})
    held = (keys or data).entries
    missing = [
        f"{KEY_NAMES.get(name, name)} was set by {variable} and is not in the archive: set {variable}"
        for name, variable in sorted(elsewhere.items())
        if not os.environ.get(variable)
    ]
    for name, variable in KEY_VARIABLES.items():
        value = os.environ.get(variable)
        entry = held.get(f"{KEYS}/{name}")
        if value and entry is not None:
            digests = {hashlib.sha256(candidate.encode()).hexdigest() for candidate in (value, value + "\n")}
            if entry.sha256 not in digests:
                missing.append(
                    f"{variable} is set to another key than the archive's {KEY_NAMES[name]}: unset it, the "
                    "archive's key is restored into the instance folder"
                )
    if elsewhere.get("signing_identity") and os.environ.get("CME_SIGNING_P12"):
        p12 = Path(os.environ["CME_SIGNING_P12"])
        if not p12.is_file():
            missing.append(f"CME_SIGNING_P12 names {p12}, which does not exist")
    if missing:
        raise RestoreRefused("Nothing was restored: " + "; ".join(missing) + ".")


def _check_empty(target: Target) -> None:
    """Refuse a target that holds anything: the restore never merges into or overwrites an instance."""
    found = []
    folder = target.instance_path
    if folder.exists():
        if not folder.is_dir():
            found.append(f"the instance folder {folder} is not a folder")
        else:
            entries = sorted(path.name for path in folder.iterdir())
            if entries:
                shown = ", ".join(entries[:5]) + (f" and {len(entries) - 5} more" if len(entries) > 5 else "")
                found.append(f"the instance folder {folder} is not empty: it holds {shown}")
    if not target.anchor_path.is_relative_to(folder) and target.anchor_path.exists():
        found.append(f"the audit anchor {target.anchor_path} (CME_AUDIT_ANCHOR) exists already")
    tables = _tables(target.database_url)
    if tables:
        shown = ", ".join(tables[:5]) + (f" and {len(tables) - 5} more" if len(tables) > 5 else "")
        found.append(f"the database is not empty: it holds the tables {shown}")
    if found:
        raise RestoreRefused(
            "Nothing was restored: a restore goes into an empty instance folder and an empty database, but "
            + "; and ".join(found)
            + "."
        )


def _tables(url: str) -> list[str]:
    """The tables of the database at ``url``; a SQLite file that does not exist yet has none (and is not
    created by looking)."""
    if url.startswith("sqlite"):
        path = sqlite_path(url)
        if not path.exists():
            return []
        connection = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
        try:
            rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            return [str(row[0]) for row in rows]
        except sqlite3.DatabaseError as error:
            raise RestoreRefused(f"the database {path} cannot be read: {error}") from error
        finally:
            connection.close()
    engine = create_db_engine(url)
    try:
        with engine.connect() as server:
            found = server.execute(
                text(
                    "SELECT table_schema || '.' || table_name FROM information_schema.tables "
                    "WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1"
                )
            )
            return [str(row[0]).removeprefix("public.") for row in found]
    except SQLAlchemyError as error:
        raise RestoreRefused(
            f"cannot connect to the database of CME_DATABASE_URL: {getattr(error, 'orig', error)}"
        ) from error
    finally:
        engine.dispose()


def _private_folder(path: Path) -> None:
    """``path`` and the folders above it that do not exist yet, created owner-only (0700)."""
    missing = []
    current = path
    while not current.exists():
        missing.append(current)
        current = current.parent
    for folder in reversed(missing):
        folder.mkdir(mode=0o700)
        os.chmod(folder, 0o700)


def _destination(name: str, target: Target, workdir: Path) -> Path:
    top, _, rest = name.partition("/")
    if top in (INSTANCE, KEYS):
        return target.instance_path / rest
    if name == ANCHOR:
        return target.anchor_path
    if top == DATABASE:
        return workdir / PurePosixPath(name).name
    raise ArchiveError(f"the archive holds a member with an unexpected name: {name!r}")


def _extract(archive: CheckedArchive, target: Target, workdir: Path) -> None:
    """Write every member to its place (checking the hashes again as it reads: the archive may have changed
    since it was checked)."""

    def write(name: str, stream: Readable) -> None:
        destination = _destination(name, target, workdir)
        _private_folder(destination.parent)
        temporary = destination.with_name(f".{destination.name}.{os.getpid()}.partial")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "wb") as handle:
                shutil.copyfileobj(stream, handle, _CHUNK)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, destination)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise

    read_members(archive.path, write)


def _restore_database(target: Target, copy: Path) -> None:
    if target.database_kind == "sqlite":
        path = sqlite_path(target.database_url)
        _private_folder(path.parent)
        for suffix in ("-wal", "-shm", "-journal"):  # of an empty database file: stale once it is replaced
            path.with_name(path.name + suffix).unlink(missing_ok=True)
        copy_file_privately(copy, path)
        return
    url, environment = libpq_url(target.database_url)
    run_pg_tool(
        [
            "pg_restore",
            "--no-owner",
            "--no-acl",
            "--single-transaction",
            "--exit-on-error",
            "--no-password",
            f"--dbname={url}",
            str(copy),
        ],
        environment,
    )


def _migrate_and_check(target: Target, revision: str, head: str, report: RestoreReport) -> None:
    """Migrate an archive of an older revision to the head, then check the chain and every issued file."""
    from cme_tracker.audit.chain import verify
    from cme_tracker.keys import ensure_instance_keys

    settings = ensure_instance_keys(config.Settings.from_environment())
    database = Database.connect(settings.database_url, settings.audit_key, settings.audit_anchor)
    try:
        if revision != head:
            from cme_tracker.credits.presets import install_presets
            from cme_tracker.migrate import upgrade

            upgrade(database.engine)
            with database.unit_of_work() as session:
                install_presets(session, actor="cme-tracker restore")
            report.done.append(f"migrated the database from revision {revision} to {head}")
        with database.unit_of_work() as session:
            chain = verify(session)
        if chain.intact:
            report.done.append(f"audit log intact: {chain.events_checked} events")
        else:
            report.problems.append(f"audit log broken at event {chain.broken_sequence}: {chain.reason}")
        _check_documents(settings, database, report)
    finally:
        database.engine.dispose()


def _check_documents(settings: config.Settings, database: Database, report: RestoreReport) -> None:
    """Every issued document's file against its recorded SHA-256; the newest valid one's signature against
    the restored signing identity."""
    from cme_tracker.documents.identity import load_signing_identity
    from cme_tracker.documents.models import Certificate, CertificateStatus
    from cme_tracker.documents.storage import CertificateStore
    from cme_tracker.documents.verify import verify_file

    store = CertificateStore(settings.instance_path)
    checked = 0
    newest_valid: str | None = None
    with database.sessions() as session:
        rows: Iterator[Any] = session.execute(
            select(Certificate.serial, Certificate.file_path, Certificate.sha256, Certificate.status)
            .order_by(Certificate.id)
            .execution_options(yield_per=1000)
        )
        for serial, file_path, sha256, status in rows:
            checked += 1
            if not store.has(file_path):
                report.problems.append(f"document {serial}: its file {file_path} is missing")
                continue
            digest = hashlib.sha256()
            with open(settings.instance_path / file_path, "rb") as handle:
                for chunk in iter(lambda: handle.read(_CHUNK), b""):
                    digest.update(chunk)
            if digest.hexdigest() != sha256:
                report.problems.append(f"document {serial}: its file {file_path} does not match its SHA-256")
            elif status == CertificateStatus.VALID:
                newest_valid = file_path
        line = f"{checked} issued document(s): every file matches its SHA-256"
        if newest_valid is not None:
            identity = load_signing_identity(
                settings.instance_path, settings.signing_p12, settings.signing_password
            )
            result = verify_file(session, identity, store.read(newest_valid))
            if result.valid:
                line += f"; the restored signing identity verifies {PurePosixPath(newest_valid).stem}"
            else:
                report.problems.append(
                    f"{newest_valid} does not verify with the restored signing identity: {result.message}"
                )
    if not any(problem.startswith("document ") for problem in report.problems):
        report.done.append(line)
