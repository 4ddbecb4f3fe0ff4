"""The backup archive: a tar file (optionally compressed) whose manifest names each member's SHA-256 and size.

The manifest is the archive's last member, written once every other member's hash is known, so the instance is
read once. An archive is complete under its final name or absent: it is written to a hidden temporary name
(owner only), flushed to disk and renamed. Reading checks every member against the manifest and refuses a
changed, missing or unlisted one by name.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any, Protocol

from cme_tracker.errors import DomainError

FORMAT = "cme-tracker-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"

DATABASE = "database"
"""Members below ``database/``: the SQLite file or the ``pg_dump`` custom-format dump."""
INSTANCE = "instance"
"""Members below ``instance/``: the issued files, at their path in the instance folder."""
ANCHOR = "anchor/audit_anchor.json"
"""The audit anchor, restored to the target's ``CME_AUDIT_ANCHOR`` (by default in the instance folder)."""
KEYS = "keys"
"""Members below ``keys/``: the keys, at their path in the instance folder."""

COMPRESSIONS = {".tar": "", ".tar.gz": "gz", ".tgz": "gz", ".tar.xz": "xz", ".tar.bz2": "bz2"}
"""How an archive's name ends, and the compression it is written with."""

_CHUNK = 1024 * 1024


class ArchiveError(DomainError):
    """The archive cannot be read or does not match its manifest; the message names the file."""

    code = "backup_archive"


def compression_of(path: Path) -> str:
    """The compression an archive named ``path`` is written with; an unknown suffix is refused."""
    name = path.name.lower()
    for suffix, compression in sorted(COMPRESSIONS.items(), key=lambda item: -len(item[0])):
        if name.endswith(suffix):
            return compression
    raise ArchiveError(
        f"{path.name}: the archive's name must end with one of {', '.join(COMPRESSIONS)} "
        "(the suffix chooses the compression)."
    )


def checked_member_name(name: str) -> str:
    """``name`` when it is a plain relative path below one of the archive's folders; else refuse it."""
    path = PurePosixPath(name)
    if (
        path.is_absolute()
        or not path.parts
        or any(part in ("", ".", "..") for part in path.parts)
        or path.as_posix() != name
        or (name != MANIFEST and path.parts[0] not in (DATABASE, INSTANCE, KEYS, "anchor"))
    ):
        raise ArchiveError(f"the archive holds a member with an unexpected name: {name!r}")
    return name


@dataclass(frozen=True)
class Entry:
    """One member of the archive as the manifest records it."""

    path: str
    sha256: str
    size: int


class Readable(Protocol):
    """What a member's bytes are read from."""

    def read(self, size: int = -1, /) -> bytes: ...


class _Hashing:
    """A reader that hashes what passes through it (tarfile reads a member's bytes through it)."""

    def __init__(self, source: IO[bytes]) -> None:
        self.source = source
        self.digest = hashlib.sha256()
        self.size = 0

    def read(self, size: int = -1, /) -> bytes:
        data = self.source.read(size)
        self.digest.update(data)
        self.size += len(data)
        return data


@dataclass
class ArchiveWriter:
    """Adds members to an archive being written, hashing each one for the manifest."""

    tar: tarfile.TarFile
    entries: list[Entry] = field(default_factory=list)

    def add_file(self, name: str, path: Path) -> Entry:
        """Add the file at ``path`` as member ``name``; files are read once, in chunks."""
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            info = _member_info(checked_member_name(name), size)
            reader = _Hashing(handle)
            self.tar.addfile(info, reader)
        if reader.size != size:
            raise ArchiveError(f"{path} changed while it was being archived: run the backup again.")
        entry = Entry(name, reader.digest.hexdigest(), size)
        self.entries.append(entry)
        return entry

    def add_bytes(self, name: str, data: bytes) -> Entry:
        self.tar.addfile(_member_info(checked_member_name(name), len(data)), io.BytesIO(data))
        entry = Entry(name, hashlib.sha256(data).hexdigest(), len(data))
        self.entries.append(entry)
        return entry


def _member_info(name: str, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mode = 0o600
    info.mtime = int(time.time())
    return info


@contextmanager
def writing(out: Path) -> Iterator[ArchiveWriter]:
    """An archive written to a hidden temporary name beside ``out``, renamed to ``out`` when the block ends
    normally, removed when it raises. The caller adds the manifest last (:func:`manifest_bytes`)."""
    compression = compression_of(out)
    out = out.resolve()
    temporary = out.with_name(f".{out.name}.{os.getpid()}.partial")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as raw:
            with tarfile.open(fileobj=raw, mode=f"w:{compression}", format=tarfile.PAX_FORMAT) as tar:  # type: ignore[call-overload]
                yield ArchiveWriter(tar)
            raw.flush()
            os.fsync(raw.fileno())
        os.chmod(temporary, 0o600)
        os.replace(temporary, out)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    directory = os.open(out.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def manifest_bytes(manifest: dict[str, Any], entries: list[Entry]) -> bytes:
    """The manifest with every member's hash and size, as UTF-8 JSON."""
    document = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        **manifest,
        "files": [{"path": entry.path, "sha256": entry.sha256, "size": entry.size} for entry in entries],
    }
    return json.dumps(document, ensure_ascii=False, indent=2).encode()


@dataclass(frozen=True)
class CheckedArchive:
    """An archive whose every member matched its manifest."""

    path: Path
    manifest: dict[str, Any]

    @property
    def entries(self) -> dict[str, Entry]:
        return {
            str(item["path"]): Entry(str(item["path"]), str(item["sha256"]), int(item["size"]))
            for item in self.manifest["files"]
        }

    @property
    def contents(self) -> str:
        """``full``, ``without-keys`` or ``keys``."""
        return str(self.manifest["contents"])


def _parse_manifest(data: bytes, path: Path) -> dict[str, Any]:
    try:
        manifest = json.loads(data)
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise ValueError("not a cme-tracker backup manifest")
        if int(manifest["format_version"]) > FORMAT_VERSION:
            raise ArchiveError(
                f"{path.name} has backup format {manifest['format_version']}, newer than this version "
                f"of cme-tracker reads ({FORMAT_VERSION}): restore it with the version that wrote it "
                f"({manifest.get('app_version')}) or a later one."
            )
        for item in manifest["files"]:
            checked_member_name(str(item["path"]))
            int(item["size"])
            str(item["sha256"])
        str(manifest["contents"])
    except ArchiveError:
        raise
    except (ValueError, KeyError, TypeError) as error:
        raise ArchiveError(
            f"{path.name}: {MANIFEST} is damaged or not a backup manifest ({error})."
        ) from error
    return manifest


def read_members(path: Path, handle_member: Callable[[str, Readable], None] | None = None) -> CheckedArchive:
    """Read the archive in one pass, hashing every member (and handing each to ``handle_member``, which
    must read it whole), then check them all against the manifest; refuse any difference by name."""
    seen: dict[str, Entry] = {}
    manifest_data: bytes | None = None
    try:
        with tarfile.open(path, mode="r|*") as tar:
            for member in tar:
                name = checked_member_name(member.name)
                if not member.isfile():
                    raise ArchiveError(f"{path.name}: {name} is not a regular file")
                if name in seen or (name == MANIFEST and manifest_data is not None):
                    raise ArchiveError(f"{path.name}: {name} appears twice")
                source = tar.extractfile(member)
                assert source is not None
                if name == MANIFEST:
                    manifest_data = source.read()
                    continue
                reader = _Hashing(source)
                if handle_member is not None:
                    handle_member(name, reader)
                while reader.read(_CHUNK):
                    pass
                seen[name] = Entry(name, reader.digest.hexdigest(), reader.size)
    except (tarfile.TarError, EOFError, OSError, ValueError) as error:
        raise ArchiveError(
            f"{path.name} cannot be read as a backup archive: it is damaged ({error})."
        ) from error
    if manifest_data is None:
        raise ArchiveError(
            f"{path.name} holds no readable {MANIFEST}: it is damaged, cut short, or not a cme-tracker backup"
            + (f" (readable up to {list(seen)[-1]})." if seen else ".")
        )
    checked = CheckedArchive(path, _parse_manifest(manifest_data, path))
    problems = []
    for name, expected in checked.entries.items():
        found = seen.get(name)
        if found is None:
            problems.append(f"{name} is missing from the archive")
        elif found.sha256 != expected.sha256 or found.size != expected.size:
            problems.append(f"{name} was changed (its SHA-256 does not match the manifest)")
    problems += [f"{name} is not listed in the manifest" for name in sorted(set(seen) - set(checked.entries))]
    if problems:
        raise ArchiveError(f"{path.name} does not match its manifest: " + "; ".join(problems) + ".")
    return checked
