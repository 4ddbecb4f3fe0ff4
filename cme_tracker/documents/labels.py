"""The words the certificate pages use for statuses, revocation categories and failed checks, translated.

The domain speaks English codes; these are what a person reads, in Japanese or English.
"""

from __future__ import annotations

from flask_babel import LazyString, lazy_gettext

from cme_tracker.documents.models import CertificateStatus, RevocationCategory

STATUS_LABELS: dict[CertificateStatus, LazyString] = {
    CertificateStatus.VALID: lazy_gettext("Valid"),
    CertificateStatus.REVOKED: lazy_gettext("Revoked"),
    CertificateStatus.SUPERSEDED: lazy_gettext("Superseded"),
}

CATEGORY_LABELS: dict[RevocationCategory, LazyString] = {
    RevocationCategory.ISSUED_IN_ERROR: lazy_gettext("Issued in error"),
    RevocationCategory.ATTENDANCE_CORRECTED: lazy_gettext("Attendance record corrected"),
    RevocationCategory.MISCONDUCT: lazy_gettext("Misconduct"),
    RevocationCategory.OTHER: lazy_gettext("Other reason"),
}

HASH_MISMATCH = "hash_mismatch"
"""The problem verify_file names for a file signed by the society that is not the file issued."""

PROBLEM_LABELS: dict[str, LazyString] = {
    # The codes of pdfcheck.FileProblem, written out: importing it would load pyHanko with the app.
    "not_a_pdf": lazy_gettext("The file is not a readable PDF document."),
    "unsigned": lazy_gettext("The file carries no signature: it is not an original certificate file."),
    "signature_broken": lazy_gettext(
        "The signature does not match the content: the file was changed after it was signed."
    ),
    "modified_after_signing": lazy_gettext("Something was added to the file after it was signed."),
    "foreign_signer": lazy_gettext("The file is signed, but not with the society's key."),
    "no_content": lazy_gettext("The file carries no certificate data."),
    HASH_MISMATCH: lazy_gettext(
        "The file is signed by the society but is not the file issued under its serial number."
    ),
}

DOMAIN_ERROR_MESSAGES: dict[str, LazyString] = {
    "not_valid": lazy_gettext("Only a valid certificate can be reissued or revoked."),
    "not_credited": lazy_gettext(
        "The member has no credited attendance at this symposium any more: revoke the certificate instead."
    ),
    "reason_required": lazy_gettext("A revocation needs a reason."),
    "run_in_progress": lazy_gettext(
        "Certificates of this symposium are being issued right now. Try again when the run has finished."
    ),
}
"""Refusals of the certificate services by code; any other keeps the service's own message."""

UNIT_LABELS: dict[str, LazyString] = {
    "credits": lazy_gettext("credits"),
    "units": lazy_gettext("units"),
    "points": lazy_gettext("points"),
}
"""The units the policies count in, as the certificate content names them."""
