"""Is this certificate genuine? By serial and code (the public page) or by the file itself (upload, CLI).

A file is valid only if its signature is intact and the society's, nothing was added after signing, it is the
very file issued (SHA-256), and its certificate is still valid. The answer reveals what the certificate
itself shows, nothing more.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cme_tracker.documents.identity import SigningIdentity
from cme_tracker.documents.models import Certificate, CertificateStatus
from cme_tracker.documents.pdfcheck import inspect_signed_pdf


class Verdict(StrEnum):
    VALID = "valid"
    REVOKED = "revoked"
    SUPERSEDED = "superseded"
    UNKNOWN = "unknown"
    """No certificate with this serial, or the code does not match: the two are not told apart."""
    NOT_ISSUED_FILE = "not_issued_file"
    """Signed by us and intact, but not the file we issued under its serial (its SHA-256 differs)."""
    FILE_PROBLEM = "file_problem"
    """The file fails by itself: not a PDF, unsigned, changed, added to after signing, or not ours."""


@dataclass(frozen=True)
class PublicRecord:
    """What the verify page shows of a certificate: exactly what the certificate shows, and its status."""

    serial: str
    kind: str
    status: str
    holder_name: str | None
    holder_name_romaji: str
    symposium_code: str | None
    symposium_title_ja: str | None
    symposium_title_en: str | None
    symposium_date: str | None
    issued_at: str
    totals: list[dict[str, Any]]
    revoked_at: str | None = None
    revocation_category: str | None = None
    replaced_by: str | None = None
    year: int | None = None
    """For a transcript: the year it covers, on ``year_basis`` (calendar or fiscal)."""
    year_basis: str | None = None

    @classmethod
    def of(cls, certificate: Certificate) -> PublicRecord:
        content = certificate.content
        symposium = content.get("symposium") or {}
        year = content.get("year") or {}
        return cls(
            serial=certificate.serial,
            kind=certificate.kind,
            status=certificate.status,
            holder_name=content["holder"]["name_kanji"],
            holder_name_romaji=content["holder"]["name_romaji"],
            symposium_code=symposium.get("code"),
            symposium_title_ja=symposium.get("title_ja"),
            symposium_title_en=symposium.get("title_en"),
            symposium_date=symposium.get("date"),
            issued_at=content["issued_at"],
            totals=[
                {
                    "label": policy["label"],
                    "label_ja": policy.get("label_ja"),
                    "version": policy["version"],
                    "unit": policy["unit"],
                    "total": policy["total"],
                }
                for policy in content["policies"]
            ],
            revoked_at=None if certificate.revoked_at is None else certificate.revoked_at.date().isoformat(),
            revocation_category=certificate.revocation_category,
            replaced_by=None if certificate.replaced_by is None else certificate.replaced_by.serial,
            year=year.get("year"),
            year_basis=year.get("basis"),
        )


@dataclass(frozen=True)
class Verification:
    """The answer: a verdict, a sentence a person understands, and the record when the code matched."""

    verdict: Verdict
    message: str
    record: PublicRecord | None = None
    problem: str | None = None
    """For a file that fails on its own: the check that failed (``signature_broken``, ...)."""

    @property
    def valid(self) -> bool:
        return self.verdict is Verdict.VALID


_CROCKFORD = str.maketrans({"I": "1", "L": "1", "O": "0", "-": None, " ": None})


def normalise_code(code: str) -> str:
    """A code as typed from paper: any case, with the letters people confuse with digits read as digits."""
    return code.strip().upper().translate(_CROCKFORD)


def look_up(session: Session, serial: str, code: str) -> Verification:
    """The status of the certificate ``serial`` for someone holding its verification code."""
    certificate = session.scalar(select(Certificate).where(Certificate.serial == serial.strip().upper()))
    if certificate is None or not hmac.compare_digest(
        normalise_code(code).encode(), certificate.verification_code.encode()
    ):
        return Verification(
            Verdict.UNKNOWN,
            "No certificate matches this serial and verification code. Check both against the "
            "document; a forged or mistyped code looks exactly like this.",
        )
    return _status(certificate)


def _status(certificate: Certificate) -> Verification:
    record = PublicRecord.of(certificate)
    if certificate.status == CertificateStatus.REVOKED:
        return Verification(
            Verdict.REVOKED,
            f"Certificate {certificate.serial} was revoked on {record.revoked_at} "
            f"({(record.revocation_category or 'other').replace('_', ' ')}). It certifies nothing.",
            record,
        )
    if certificate.status == CertificateStatus.SUPERSEDED:
        return Verification(
            Verdict.SUPERSEDED,
            f"Certificate {certificate.serial} was replaced by certificate {record.replaced_by}; "
            "only the new one is valid.",
            record,
        )
    return Verification(Verdict.VALID, f"Certificate {certificate.serial} is valid.", record)


def verify_file(session: Session, identity: SigningIdentity, data: bytes) -> Verification:
    """Check an uploaded or given PDF: the file first, then the certificate it claims to be."""
    report = inspect_signed_pdf(data, identity)
    if not report.ok or report.content is None:
        return Verification(Verdict.FILE_PROBLEM, report.message, problem=str(report.problem))
    serial, code = report.content.get("serial"), report.content.get("verification_code")
    if not isinstance(serial, str) or not isinstance(code, str):
        return Verification(
            Verdict.FILE_PROBLEM, "The file carries no certificate serial and code.", problem="no_content"
        )
    found = look_up(session, serial, code)
    if found.verdict is Verdict.UNKNOWN:
        return found
    certificate = session.scalar(select(Certificate).where(Certificate.serial == serial))
    assert certificate is not None
    if not hmac.compare_digest(report.sha256, certificate.sha256):
        return Verification(
            Verdict.NOT_ISSUED_FILE,
            f"This file is signed by the society but is not the file issued as certificate {serial}: "
            "its SHA-256 differs from the one recorded at issue.",
            found.record,
            problem="hash_mismatch",
        )
    return found
