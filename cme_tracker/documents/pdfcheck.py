"""What a PDF proves by itself: signed by the society, unchanged since, and carrying its certificate data.

The checks run in this order and the first that fails names the problem:

- ``not_a_pdf``: pyHanko's reader cannot parse the file.
- ``unsigned``: no signature field holds a signature (a re-rendered or hand-made copy).
- ``signature_broken``: pyHanko recomputes the digest of the signed byte range (``intact``: catches any
  changed byte inside it) and checks the signature value over the signed attributes (``valid``); a container
  or byte range that cannot be read counts too.
- ``foreign_signer``: the signer's key must be the identity's signing key (a look-alike society, or another
  certificate from a public CA that also issued ours), and pyHanko must build a path to the society root with
  a validation context that trusts nothing else.
- ``modified_after_signing``: pyHanko's coverage must be ``ENTIRE_FILE``, i.e. the signed range plus the
  signature is exactly the file. Any byte after it fails, so an incremental update that overlays text is
  rejected even where pyHanko's difference analysis would call it harmless (form filling, annotations).
- ``no_content``: the signed revision has no ``certificate.json`` attachment holding a JSON object.

The signature container itself lies outside the signed range (as in every PDF signature): its zero padding
and the copy of the root certificate in it (validation uses the identity's own) can change without any check
here failing. Comparing the file's SHA-256 with the issued one catches that.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import zlib
from dataclasses import dataclass
from enum import StrEnum
from io import BytesIO
from typing import Any

import pikepdf
from cryptography import x509
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import async_validate_pdf_signature
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.status import PdfSignatureStatus, SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from cme_tracker.documents.identity import SigningIdentity
from cme_tracker.documents.signing import asn1_certificate, run_coroutine

CONTENT_ATTACHMENT = "certificate.json"
_DAMAGED = "The signature in the file is damaged and cannot be checked."


class FileProblem(StrEnum):
    NOT_A_PDF = "not_a_pdf"
    UNSIGNED = "unsigned"
    SIGNATURE_BROKEN = "signature_broken"
    MODIFIED_AFTER_SIGNING = "modified_after_signing"
    FOREIGN_SIGNER = "foreign_signer"
    NO_CONTENT = "no_content"


@dataclass(frozen=True)
class SignedFileReport:
    """The verdict on one file; ``content`` is what the signed revision carries, readable or not ``ok``."""

    problem: FileProblem | None
    message: str
    sha256: str
    content: dict[str, Any] | None = None
    signed_at: dt.datetime | None = None
    """The signer's own claim (``/M``); not a trusted timestamp."""

    @property
    def ok(self) -> bool:
        return self.problem is None


class _Rejected(Exception):
    def __init__(self, problem: FileProblem, message: str) -> None:
        super().__init__(message)
        self.problem = problem
        self.message = message


_MALFORMED = (
    PdfError,
    ValueError,
    KeyError,
    IndexError,
    TypeError,
    AttributeError,
    NotImplementedError,
    zlib.error,
)
"""What pyHanko raises on a damaged file: NotImplementedError for a stream filter name changed into one it
does not know, AttributeError for an object that lost its stream keyword (a dictionary where a stream
belongs), zlib.error for damaged compressed data."""


def inspect_signed_pdf(data: bytes, identity: SigningIdentity) -> SignedFileReport:
    """Checks the file alone; the caller adds what only the register knows (issued hash, status)."""
    sha256 = hashlib.sha256(data).hexdigest()
    try:
        signature = _first_signature(data)
        signed_end = _signed_end(signature, len(data))
    except _Rejected as rejected:
        content = _attached_content(data) if rejected.problem is FileProblem.UNSIGNED else None
        return SignedFileReport(rejected.problem, rejected.message, sha256, content)
    signed_at = signature.self_reported_timestamp
    content = _attached_content(data[:signed_end])
    try:
        _check_signature(signature, identity, signed_at, len(data) - signed_end)
    except _Rejected as rejected:
        return SignedFileReport(rejected.problem, rejected.message, sha256, content, signed_at)
    if content is None:
        return SignedFileReport(
            FileProblem.NO_CONTENT,
            f"The file is signed by the society but carries no readable {CONTENT_ATTACHMENT}: "
            "it is not a certificate issued by this system.",
            sha256,
            None,
            signed_at,
        )
    return SignedFileReport(
        None, "The signature is the society's and covers the whole file.", sha256, content, signed_at
    )


def _first_signature(data: bytes) -> EmbeddedPdfSignature:
    """The earliest signature: on an issued file the society's, and anything after it is an addition."""
    try:
        reader = PdfFileReader(BytesIO(data), strict=False)
        reader.root  # noqa: B018 - a file without a readable catalog is not a PDF
    except _MALFORMED as error:
        raise _Rejected(FileProblem.NOT_A_PDF, "The file is not a readable PDF document.") from error
    try:
        signatures: list[EmbeddedPdfSignature] = reader.embedded_regular_signatures
    except _MALFORMED as error:
        raise _Rejected(FileProblem.SIGNATURE_BROKEN, _DAMAGED) from error
    if not signatures:
        raise _Rejected(FileProblem.UNSIGNED, "The PDF carries no signature: it is not an issued original.")
    return signatures[0]


def _signed_end(signature: EmbeddedPdfSignature, size: int) -> int:
    """Where the signed bytes end: the signed revision is the file cut there."""
    byte_range = [value for value in signature.byte_range if isinstance(value, int)]
    if len(byte_range) != 4 or not 0 <= byte_range[2] + byte_range[3] <= size:
        raise _Rejected(FileProblem.SIGNATURE_BROKEN, _DAMAGED)
    return byte_range[2] + byte_range[3]


def _check_signature(
    signature: EmbeddedPdfSignature, identity: SigningIdentity, signed_at: dt.datetime | None, added: int
) -> None:
    status = _validate(signature, identity, signed_at)
    if not (status.intact and status.valid):
        raise _Rejected(
            FileProblem.SIGNATURE_BROKEN,
            "The signature does not match the file: bytes of the signed document were changed.",
        )
    if not _is_identity_key(status, identity):
        signer = status.signing_cert.subject.native.get("common_name", "an unknown signer")
        raise _Rejected(
            FileProblem.FOREIGN_SIGNER, f"The file was signed by {signer}, not by the society's signing key."
        )
    if not status.trusted:
        raise _Rejected(
            FileProblem.FOREIGN_SIGNER,
            "The file was signed with the society's key, but the certificate it names does not lead to the "
            "society root or may not sign documents.",
        )
    if status.coverage is not SignatureCoverageLevel.ENTIRE_FILE:
        raise _Rejected(
            FileProblem.MODIFIED_AFTER_SIGNING,
            f"{added} bytes were added to the file after it was signed (an incremental update): "
            "what it shows may differ from what the society signed.",
        )


def _validate(
    signature: EmbeddedPdfSignature, identity: SigningIdentity, signed_at: dt.datetime | None
) -> PdfSignatureStatus:
    """pyHanko's validation against the society root only, at signing time.

    An issued certificate must stay verifiable after the signing certificate expires, and there is no trusted
    timestamp; the claimed time can only be abused with a key of the society's own hierarchy.
    """
    root = asn1_certificate(identity.root)
    context = ValidationContext(
        trust_roots=[root], moment=signed_at, allow_fetching=False, revocation_mode="soft-fail"
    )
    try:
        return run_coroutine(
            async_validate_pdf_signature(signature, signer_validation_context=context, skip_diff=True)
        )
    except _MALFORMED as error:  # SignatureValidationError is a ValueError
        raise _Rejected(FileProblem.SIGNATURE_BROKEN, _DAMAGED) from error


def _is_identity_key(status: PdfSignatureStatus, identity: SigningIdentity) -> bool:
    signer = x509.load_der_x509_certificate(status.signing_cert.dump())
    return signer.public_key() == identity.certificate.public_key()


def _attached_content(data: bytes) -> dict[str, Any] | None:
    """The ``certificate.json`` object of the given revision, or None when missing or not a JSON object."""
    try:
        with pikepdf.open(BytesIO(data)) as pdf:
            attachment = pdf.attachments.get(CONTENT_ATTACHMENT)
            raw = attachment.get_file().read_bytes() if attachment is not None else None
    except (pikepdf.PdfError, ValueError, KeyError):
        return None
    if raw is None:
        return None
    try:
        content = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    return content if isinstance(content, dict) else None
