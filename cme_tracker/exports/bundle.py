"""The ZIP bundle of an auditor export: every table in every format, the transcripts, a signed manifest.

The bundle holds every table in every format, each member's signed transcript PDF, a ``SHA256SUMS`` manifest
in the format of ``sha256sum`` with its detached CMS signature by the society key, and the society root, so
that an auditor checks it with ``sha256sum -c`` and ``openssl cms -verify`` rather than with our software.
The formats give their tables (:data:`~cme_tracker.exports.sinks.BundlePart`), all written in one pass.
"""

from __future__ import annotations

import hashlib
import re
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from cme_tracker.documents.identity import root_certificate_pem
from cme_tracker.documents.models import Certificate, CertificateKind, CertificateStatus
from cme_tracker.exports.rows import YearExport
from cme_tracker.exports.sinks import BundlePart, ExportFailed, Target, Written, run_pass
from cme_tracker.members.models import Member

MANIFEST = "SHA256SUMS"
SIGNATURE_SUFFIX = ".p7s"
ROOT_PEM = "society-root.pem"
CHECKPOINT = "audit-checkpoint.json"
CHUNK = 1 << 20
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


@dataclass(frozen=True)
class Bundle:
    """The ZIP format's writer: ``tables`` are the formats' shares of the bundle, in the manifest's order."""

    tables: tuple[BundlePart, ...]

    def __call__(self, target: Target) -> Written:
        """Write the ZIP at the target's path: tables in every format from one pass, transcripts, signed
        manifest."""
        # pyHanko: loaded on first use, not with the CLI, which reads the registry for --format
        from cme_tracker.documents.signing import sign_detached

        assert target.signing is not None, "the bundle is a signed format"
        identity, checkpoint = target.signing.identity, target.signing.checkpoint
        export = target.export
        top = f"cme-export-{export.year}-{export.basis.value}"
        with tempfile.TemporaryDirectory(prefix="cme-export-") as scratch:
            folder = Path(scratch)
            names: list[str] = []
            with ExitStack() as files:
                sinks = []
                for part in self.tables:
                    tables = part(export, folder, checkpoint, files)
                    names.extend(tables.files)
                    sinks.extend(tables.sinks)
                counts = run_pass(export, sinks)
            (folder / ROOT_PEM).write_bytes(root_certificate_pem(identity))
            (folder / CHECKPOINT).write_bytes(checkpoint.document)
            (folder / (CHECKPOINT + SIGNATURE_SUFFIX)).write_bytes(checkpoint.signature)
            names.extend((ROOT_PEM, CHECKPOINT, CHECKPOINT + SIGNATURE_SUFFIX))
            manifest: list[str] = []
            with zipfile.ZipFile(target.path, "w", zipfile.ZIP_DEFLATED) as archive:
                for name in names:
                    digest = _add(archive, folder / name, f"{top}/{name}", zipfile.ZIP_DEFLATED)
                    manifest.append(f"{digest}  {name}\n")
                transcripts = 0
                for member_no, serial, file_path, recorded in _transcripts(export):
                    name = f"transcripts/{_UNSAFE.sub('_', member_no)}_{_UNSAFE.sub('_', serial)}.pdf"
                    digest = _add(
                        archive, target.instance_path / file_path, f"{top}/{name}", zipfile.ZIP_STORED
                    )
                    if digest != recorded:
                        raise ExportFailed(
                            f"transcript {serial} of member {member_no} does not match the SHA-256 recorded "
                            "at its issue: the file was changed or replaced; nothing was exported",
                            details={"serial": serial, "file": file_path},
                        )
                    manifest.append(f"{digest}  {name}\n")
                    transcripts += 1
                manifest_bytes = "".join(manifest).encode()
                archive.writestr(f"{top}/{MANIFEST}", manifest_bytes)
                archive.writestr(
                    f"{top}/{MANIFEST}{SIGNATURE_SUFFIX}", sign_detached(manifest_bytes, identity)
                )
        return Written(counts, transcripts)


def _transcripts(export: YearExport) -> Iterator[tuple[str, str, str, str]]:
    """The valid transcripts of the export's year and basis: member number, serial, file, SHA-256."""
    query = (
        select(Member.member_no, Certificate.serial, Certificate.file_path, Certificate.sha256)
        .join(Member, Member.id == Certificate.member_id)
        .where(
            Certificate.kind == CertificateKind.TRANSCRIPT,
            Certificate.status == CertificateStatus.VALID,
            Certificate.year == export.year,
            Certificate.year_basis == export.basis,
        )
        .order_by(Member.member_no)
        .execution_options(yield_per=500)
    )
    for row in export.session.execute(query):
        yield row.member_no, row.serial, row.file_path, row.sha256


def _add(archive: zipfile.ZipFile, source: Path, name: str, compression: int) -> str:
    """Copy a file into the archive in chunks and return its SHA-256, computed on the bytes written."""
    digest = hashlib.sha256()
    info = zipfile.ZipInfo.from_file(source, name)
    info.compress_type = compression
    with source.open("rb") as reader, archive.open(info, "w") as writer:
        while chunk := reader.read(CHUNK):
            digest.update(chunk)
            writer.write(chunk)
    return digest.hexdigest()
