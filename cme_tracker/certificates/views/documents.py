"""What the certificate pages share: the app's document set-up, its signing identity, issued files."""

from __future__ import annotations

from functools import cache
from io import BytesIO
from typing import TYPE_CHECKING

from flask import send_file
from werkzeug.wrappers import Response

from cme_tracker.certificates.identity import SigningIdentity, load_signing_identity
from cme_tracker.certificates.models import Certificate
from cme_tracker.certificates.storage import CertificateStore
from cme_tracker.config import Settings
from cme_tracker.web.session import settings

if TYPE_CHECKING:
    from cme_tracker.certificates.issue import DocumentSetup


def document_setup() -> DocumentSetup:
    from cme_tracker.certificates.issue import DocumentSetup  # WeasyPrint: loaded on first use

    return DocumentSetup.from_settings(settings())


def certificate_store() -> CertificateStore:
    return CertificateStore(settings().instance_path)


def signing_identity() -> SigningIdentity:
    return _identity(settings())


@cache
def _identity(configured: Settings) -> SigningIdentity:
    """Loaded once per process and settings: reading and checking the key and its chain costs more than a
    verification. A replaced identity takes effect when the web processes restart."""
    return load_signing_identity(
        configured.instance_path, configured.signing_p12, configured.signing_password
    )


def pdf_download(certificate: Certificate) -> Response:
    """The issued file as ``SERIAL.pdf``, byte for byte; no cache keeps it, since it names its holder."""
    data = certificate_store().read(certificate.file_path)
    response = send_file(
        BytesIO(data),
        mimetype="application/pdf",
        as_attachment=True,
        download_name=f"{certificate.serial}.pdf",
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response
