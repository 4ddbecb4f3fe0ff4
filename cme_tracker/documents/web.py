"""What the document pages of every kind share: the app's document set-up, its registry of kinds, its signing
identity, and the download of an issued file."""

from __future__ import annotations

from functools import cache
from io import BytesIO

from flask import abort, current_app, send_file
from flask_babel import gettext
from werkzeug.wrappers import Response

from cme_tracker.config import Settings
from cme_tracker.documents.identity import SigningIdentity, load_signing_identity
from cme_tracker.documents.kinds import DocumentKinds
from cme_tracker.documents.models import Certificate
from cme_tracker.documents.setup import DocumentSetup
from cme_tracker.documents.storage import CertificateStore
from cme_tracker.web.session import settings

KINDS_EXTENSION = "cme_document_kinds"
"""Where the app keeps the registry of document kinds that the web set-up gives it."""


def document_setup() -> DocumentSetup:
    return DocumentSetup.from_settings(settings())


def document_kinds() -> DocumentKinds:
    kinds: DocumentKinds = current_app.extensions[KINDS_EXTENSION]
    return kinds


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
    data = read_issued_file(certificate)
    response = send_file(
        BytesIO(data),
        mimetype="application/pdf",
        as_attachment=True,
        download_name=f"{certificate.serial}.pdf",
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response


def read_issued_file(certificate: Certificate) -> bytes:
    """The issued file's bytes; a row whose file is gone (a lost or partly restored instance folder) answers
    410 with a message, not a 500: ``cme-tracker certificates check`` lists such rows."""
    try:
        return certificate_store().read(certificate.file_path)
    except FileNotFoundError:
        abort(
            410,
            gettext(
                "The file of document %(serial)s is missing from the server. "
                "Please ask the society office to restore it.",
                serial=certificate.serial,
            ),
        )
