"""Issued files in the instance folder: written atomically, one folder per subject, found by their serial.

A file is complete under its final name or absent: it is written to a hidden temporary name, flushed to disk
and renamed. The row that records it commits after the rename, so a crash can leave a file without a row
(never a row without a file); :meth:`CertificateStore.sweep` removes those before a run issues again.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

PARTIAL_SUFFIX = ".partial"


@dataclass(frozen=True)
class StoredFile:
    serial: str
    relative_path: str
    """Relative to the instance folder, as the Certificate row records it."""
    sha256: str


class CertificateStore:
    """The ``certificates/`` tree of the instance folder."""

    def __init__(self, instance_path: Path) -> None:
        self.instance_path = instance_path

    def folder(self, subject: str) -> Path:
        """The folder of one subject, such as ``attendance/2026-11`` or ``transcript/2026-calendar``."""
        return self.instance_path / "certificates" / subject

    def write(self, subject: str, serial: str, data: bytes) -> StoredFile:
        """Write the file whole or not at all; an :class:`OSError` names the final file, not the temporary."""
        folder = self.folder(subject)
        final = folder / f"{serial}.pdf"
        temporary = folder / f".{serial}.pdf.{os.getpid()}{PARTIAL_SUFFIX}"
        _make_folder(folder)
        try:
            with open(temporary, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, final)
            _fsync_directory(folder)
        except OSError as error:
            with contextlib.suppress(OSError):
                temporary.unlink(missing_ok=True)
            raise OSError(error.errno, error.strerror, str(final)) from error
        return StoredFile(
            serial, final.relative_to(self.instance_path).as_posix(), hashlib.sha256(data).hexdigest()
        )

    def read(self, relative_path: str) -> bytes:
        return (self.instance_path / relative_path).read_bytes()

    def has(self, relative_path: str) -> bool:
        """Whether the recorded file is there (a lost or partly restored instance folder may lack it)."""
        return (self.instance_path / relative_path).is_file()

    def sweep(self, subject: str, recorded: Collection[str]) -> list[Path]:
        """Delete the subject's temporary files and the PDFs whose serial no row records; return them.

        Call it only while holding the subject's lock, so no other run is between a rename and its commit.
        """
        folder = self.folder(subject)
        if not folder.is_dir():
            return []
        removed = []
        for path in sorted(folder.iterdir()):
            stray = path.name.endswith(PARTIAL_SUFFIX) or (
                path.suffix == ".pdf" and path.stem not in recorded
            )
            if stray and path.is_file():
                path.unlink()
                removed.append(path)
        if removed:
            _fsync_directory(folder)
        return removed


def _make_folder(folder: Path) -> None:
    """``mkdir -p``, naming the ancestor that is a file rather than a folder when there is one."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError) as error:
        ancestors = (folder, *folder.parents)
        blocking = next((path for path in ancestors if path.exists() and not path.is_dir()), None)
        if blocking is None:
            raise
        raise NotADirectoryError(errno.ENOTDIR, "a file is where a folder belongs", str(blocking)) from error


def _fsync_directory(folder: Path) -> None:
    """Make a rename or unlink durable: without it a power cut can bring back the old directory entry."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
