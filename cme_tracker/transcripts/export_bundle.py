"""The ZIP bundle of an auditor export, and the signed audit chain checkpoint the XLSX, JSON and ZIP carry.

The bundle holds every table in every format, each member's signed transcript PDF, a ``SHA256SUMS`` manifest
in the format of ``sha256sum`` with its detached CMS signature by the society key, and the society root, so
that an auditor checks it with ``sha256sum -c`` and ``openssl cms -verify`` rather than with our software.
The checkpoint names the chain's head when the export was made: if events are later cut off the tail of the
log, the signed sequence and hash no longer match it.
"""

from __future__ import annotations

import hashlib
import json
import re
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cme_tracker.audit.chain import head as chain_head
from cme_tracker.audit.chain import verify
from cme_tracker.audit.models import AuditEvent
from cme_tracker.db import utcnow
from cme_tracker.documents.identity import SigningIdentity, root_certificate_pem
from cme_tracker.documents.models import Certificate, CertificateKind, CertificateStatus
from cme_tracker.documents.signing import sign_detached
from cme_tracker.errors import DomainError
from cme_tracker.members.models import Member
from cme_tracker.transcripts.export_rows import YearExport
from cme_tracker.transcripts.export_writers import (
    DetailCsv,
    ExportJson,
    ExportXlsx,
    RowCounts,
    SignedCheckpoint,
    TotalsCsv,
    open_csv,
    run_pass,
    write_policies_csv,
)

CHECKPOINT_KIND = "cme-tracker audit checkpoint"
MANIFEST = "SHA256SUMS"
SIGNATURE_SUFFIX = ".p7s"
ROOT_PEM = "society-root.pem"
CHECKPOINT = "audit-checkpoint.json"
CHUNK = 1 << 20
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


class ExportFailed(DomainError):
    code = "export_failed"
    http_status = 500


def audit_checkpoint(
    session: Session, identity: SigningIdentity, *, year: int, basis: str
) -> SignedCheckpoint:
    """The chain's head (sequence and hash) and the time, as JSON signed by the society key."""
    sequence, head_hash = chain_head(session)
    document = {
        "kind": CHECKPOINT_KIND,
        "sequence": sequence,
        "hash": head_hash,
        "time": utcnow().isoformat(timespec="seconds"),
        "export": {"year": year, "year_basis": basis},
    }
    data = (json.dumps(document, indent=1, sort_keys=True) + "\n").encode()
    return SignedCheckpoint(sequence, data, sign_detached(data, identity))


def check_checkpoint(session: Session, document: bytes) -> str | None:
    """Why the database's audit log does not extend the checkpoint, or None when it does.

    The chain must be intact and still hold the checkpoint's event with the same hash; the checkpoint's own
    signature is checked with ``openssl cms -verify`` (see the README).
    """
    try:
        checkpoint: dict[str, Any] = json.loads(document)
        sequence, expected = int(checkpoint["sequence"]), str(checkpoint["hash"])
    except (ValueError, KeyError, TypeError):
        return "not an audit checkpoint"
    if checkpoint.get("kind") != CHECKPOINT_KIND:
        return "not an audit checkpoint"
    report = verify(session)
    if not report.intact:
        return f"the audit log is broken at event {report.broken_sequence}: {report.reason}"
    if sequence == 0:
        return None
    found = session.scalar(select(AuditEvent.hash).where(AuditEvent.sequence == sequence))
    if found is None:
        return f"event {sequence} is missing: the log was cut after the export"
    if found != expected:
        return f"event {sequence} has another hash than at the export: the log was rewritten"
    return None


@dataclass(frozen=True)
class BundleReport:
    counts: RowCounts
    transcripts: int


def write_bundle(
    export: YearExport,
    identity: SigningIdentity,
    checkpoint: SignedCheckpoint,
    instance_path: Path,
    path: Path,
) -> BundleReport:
    """Write the ZIP at ``path``: tables in every format from one pass, transcripts, signed manifest."""
    top = f"cme-export-{export.year}-{export.basis.value}"
    with tempfile.TemporaryDirectory(prefix="cme-export-") as scratch:
        folder = Path(scratch)
        with (
            open_csv(folder / "detail.csv") as detail,
            open_csv(folder / "totals.csv") as totals,
            (folder / "export.json").open("w", encoding="utf-8") as document,
        ):
            counts = run_pass(
                export,
                [
                    DetailCsv(export, detail),
                    TotalsCsv(export, totals),
                    ExportXlsx(export, folder / "export.xlsx", checkpoint),
                    ExportJson(export, document, checkpoint),
                ],
            )
        with open_csv(folder / "policies.csv") as policies:
            write_policies_csv(export, policies)
        (folder / ROOT_PEM).write_bytes(root_certificate_pem(identity))
        (folder / CHECKPOINT).write_bytes(checkpoint.document)
        (folder / (CHECKPOINT + SIGNATURE_SUFFIX)).write_bytes(checkpoint.signature)
        names = [
            "detail.csv",
            "totals.csv",
            "policies.csv",
            "export.xlsx",
            "export.json",
            ROOT_PEM,
            CHECKPOINT,
            CHECKPOINT + SIGNATURE_SUFFIX,
        ]
        manifest: list[str] = []
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            for name in names:
                digest = _add(archive, folder / name, f"{top}/{name}", zipfile.ZIP_DEFLATED)
                manifest.append(f"{digest}  {name}\n")
            transcripts = 0
            for member_no, serial, file_path, recorded in _transcripts(export):
                name = f"transcripts/{_UNSAFE.sub('_', member_no)}_{_UNSAFE.sub('_', serial)}.pdf"
                digest = _add(archive, instance_path / file_path, f"{top}/{name}", zipfile.ZIP_STORED)
                if digest != recorded:
                    raise ExportFailed(
                        f"transcript {serial} of member {member_no} does not match the SHA-256 recorded at "
                        "its issue: the file was changed or replaced; nothing was exported",
                        details={"serial": serial, "file": file_path},
                    )
                manifest.append(f"{digest}  {name}\n")
                transcripts += 1
            manifest_bytes = "".join(manifest).encode()
            archive.writestr(f"{top}/{MANIFEST}", manifest_bytes)
            archive.writestr(f"{top}/{MANIFEST}{SIGNATURE_SUFFIX}", sign_detached(manifest_bytes, identity))
    return BundleReport(counts, transcripts)


def _transcripts(export: YearExport) -> Iterator[tuple[str, str, str, str]]:
    """The valid transcripts of the export's year and basis: member number, serial, file, SHA-256."""
    query = (
        select(Member.member_no, Certificate.serial, Certificate.file_path, Certificate.sha256)
        .join(Member, Member.id == Certificate.member_id)
        .where(
            Certificate.kind == CertificateKind.TRANSCRIPT.value,
            Certificate.status == CertificateStatus.VALID.value,
            Certificate.year == export.year,
            Certificate.year_basis == export.basis.value,
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
