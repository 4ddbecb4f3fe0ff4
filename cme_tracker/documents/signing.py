"""PAdES signatures of certificate PDFs, and detached CMS signatures of other files, by the society's key.

pyHanko lays out the signature (invisible field, ``/ETSI.CAdES.detached``, byte range, digest) through its
interrupted-signing API. The CMS container it would then build is the same for every document except the
message digest and the signature value, and building it with asn1crypto costs ~20 ms, most of the time of a
signature. So :class:`DocumentSigner` asks pyHanko's signer for that container once, keeps its encoded parts,
and per document only swaps in the digest, signs the signed attributes and re-encodes the five lengths around
the signature value (it is the last field of the container).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from io import BytesIO
from typing import Any, TypeVar

from asn1crypto import keys as asn1_keys  # type: ignore[import-untyped]
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign.fields import SigSeedSubFilter
from pyhanko.sign.signers import PdfSignatureMetadata, PdfSigner, SimpleSigner
from pyhanko.sign.signers.pdf_signer import PdfTBSDocument
from pyhanko_certvalidator.registry import SimpleCertificateStore

from cme_tracker.documents.identity import (
    SOCIETY,
    SigningIdentity,
    SigningIdentityError,
    load_signing_identity,
    root_certificate_pem,
)

__all__ = [
    "DocumentSigner",
    "SigningIdentity",
    "SigningIdentityError",
    "load_signing_identity",
    "root_certificate_pem",
    "sign_detached",
]

T = TypeVar("T")

FIELD_NAME = "SocietySignature"
REASON = f"Certificate issued by the {SOCIETY}"
LOCATION = "Tokyo, Japan"
DIGEST = "sha256"
HEADROOM = 64
"""Bytes beyond the template container's size: an ECDSA value varies by a few bytes, and so may lengths."""


def pyhanko_signer(identity: SigningIdentity) -> SimpleSigner:
    """pyHanko's view of the identity; the chain is embedded so validators can build the path to the root."""
    key_der = identity.private_key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return SimpleSigner(
        signing_cert=asn1_certificate(identity.certificate),
        signing_key=asn1_keys.PrivateKeyInfo.load(key_der),
        cert_registry=SimpleCertificateStore.from_certs(  # type: ignore[no-untyped-call]
            [asn1_certificate(c) for c in identity.chain]
        ),
    )


def signature_metadata() -> PdfSignatureMetadata:
    """PAdES baseline B-B: the signing time goes in the signature dictionary (``/M``), not in the CMS."""
    return PdfSignatureMetadata(
        field_name=FIELD_NAME,
        md_algorithm=DIGEST,
        subfilter=SigSeedSubFilter.PADES,
        reason=REASON,
        location=LOCATION,
    )


class DocumentSigner:
    """Signs many PDFs with one identity: build it once per process and reuse it (its setup costs ~20 ms)."""

    def __init__(self, identity: SigningIdentity) -> None:
        signer = pyhanko_signer(identity)
        self._pdf_signer = PdfSigner(signature_metadata(), signer=signer)
        self._container = _ContainerTemplate(identity, signer)
        self._bytes_reserved = 2 * (self._container.size + HEADROOM)

    def sign(self, pdf: bytes) -> bytes:
        """The PDF with an invisible PAdES signature appended as an incremental update (PDF/A stays valid)."""
        return run_coroutine(self._sign(pdf))

    async def _sign(self, pdf: bytes) -> bytes:
        output = BytesIO()
        prepared, _, _ = await self._pdf_signer.async_digest_doc_for_signing(
            IncrementalPdfFileWriter(BytesIO(pdf)), bytes_reserved=self._bytes_reserved, output=output
        )
        container = self._container.fill(prepared.document_digest)
        await PdfTBSDocument.async_finish_signing(output, prepared, container)
        return output.getvalue()


class _ContainerTemplate:
    """pyHanko's CMS SignedData for this identity, split around the two values that change per document."""

    def __init__(self, identity: SigningIdentity, signer: SimpleSigner) -> None:
        self._key = identity.private_key
        marker = hashlib.sha256(b"cme-tracker container template").digest()
        template = run_coroutine(signer.async_sign(marker, DIGEST, use_pades=True))
        signed_data = template["content"]
        signer_info = signed_data["signer_infos"][0]
        mechanism = signer_info["signature_algorithm"].signature_algo
        if (mechanism, isinstance(self._key, ec.EllipticCurvePrivateKey)) not in {
            ("ecdsa", True),
            ("rsassa_pkcs1v15", False),
        }:
            raise ValueError(f"unexpected signature mechanism {mechanism} for the signing key")
        self._outer = template["content_type"].dump()
        self._signed_data_head = b"".join(
            signed_data[name].dump()
            for name in ("version", "digest_algorithms", "encap_content_info", "certificates")
        )
        self._signer_info_head = b"".join(
            signer_info[name].dump() for name in ("version", "sid", "digest_algorithm")
        )
        attributes = signer_info["signed_attrs"].dump()
        if attributes.count(marker) != 1:
            raise ValueError("the message digest is not where the template expects it")
        self._attributes_head, self._attributes_tail = attributes.split(marker)
        self._algorithm = signer_info["signature_algorithm"].dump()
        self.size = len(template.dump())

    def fill(self, document_digest: bytes) -> bytes:
        """The DER container for a document: pyHanko's attributes with its digest, signed by the key."""
        attributes = self._attributes_head + document_digest + self._attributes_tail
        # The signature covers the attributes as a SET OF (tag 0x31), they are stored as [0] IMPLICIT (0xA0).
        signature = self._sign_raw(b"\x31" + attributes[1:])
        signer_info = _der(
            0x30, self._signer_info_head + attributes + self._algorithm + _der(0x04, signature)
        )
        signed_data = _der(0x30, self._signed_data_head + _der(0x31, signer_info))
        return _der(0x30, self._outer + _der(0xA0, signed_data))

    def _sign_raw(self, data: bytes) -> bytes:
        if isinstance(self._key, ec.EllipticCurvePrivateKey):
            return self._key.sign(data, ec.ECDSA(hashes.SHA256()))
        return self._key.sign(data, padding.PKCS1v15(), hashes.SHA256())


def _der(tag: int, content: bytes) -> bytes:
    """One DER element with a definite length (short form under 128 bytes, long form above)."""
    size = len(content)
    if size < 0x80:
        return bytes((tag, size)) + content
    length = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes((tag, 0x80 | len(length))) + length + content


def sign_detached(data: bytes, identity: SigningIdentity) -> bytes:
    """A DER CMS detached signature of ``data`` (export manifests), checkable with ``openssl cms -verify``."""
    signer = pyhanko_signer(identity)
    container = run_coroutine(signer.async_sign_general_data(data, DIGEST, detached=True))
    return bytes(container.dump())


def run_coroutine(work: Coroutine[Any, Any, T]) -> T:
    """Runs pyHanko's coroutines to completion for synchronous callers.

    A thread that already runs an event loop (an async server, Playwright's synchronous API) cannot run a
    second one, so there the work goes to a short-lived thread of its own.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return _run_on_private_loop(work)
    with ThreadPoolExecutor(max_workers=1) as thread:
        return thread.submit(_run_on_private_loop, work).result()


def _run_on_private_loop(work: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run`` would cost a millisecond a call in the main thread (it swaps the SIGINT handler and
    formats the task's repr), so a bare private loop runs the coroutine."""
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(work)
    finally:
        loop.close()


def asn1_certificate(certificate: x509.Certificate) -> asn1_x509.Certificate:
    """The same certificate for pyHanko, which speaks asn1crypto."""
    return asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER))
