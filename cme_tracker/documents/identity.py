"""The society's signing identity: a private key, its certificate and the chain up to the society root.

A real identity comes from a PKCS#12 file (``CME_SIGNING_P12``); otherwise the first run generates a society
root CA and a signing certificate in the instance folder, so a fresh install signs from the start. Keys are
ECDSA P-256: signing is far cheaper than with RSA, and poppler (NSS), pyHanko and OpenSSL validate it.

The generated root's private key signs the signing certificate once and is then discarded, never written:
whoever reads the instance folder could otherwise certify a signing key of their own under the society's root.
A new signing key therefore means a new root (docs/verification.md).
"""

from __future__ import annotations

import datetime as dt
import errno
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from cme_tracker.errors import DomainError
from cme_tracker.keys import generated_identity_dir

SignatureKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
"""The key types :class:`~cme_tracker.documents.signing.DocumentSigner` knows how to sign with."""

SOCIETY = "International Medical Society of Japan"
ROOT_NAME = "IMSJ Root CA"
SIGNER_NAME = f"{SOCIETY} — Certificates"
ROOT_YEARS = 30
SIGNER_YEARS = 10

ROOT_CERT = "root-ca.pem"
SIGNER_CERT = "signing-cert.pem"
SIGNER_KEY = "signing-key.pem"


class SigningIdentityError(DomainError):
    """The configured or generated signing identity cannot be used; the message says what to fix."""

    code = "signing_identity"
    http_status = 500


@dataclass(frozen=True)
class SigningIdentity:
    """What signs the society's documents; ``chain`` runs from the signer's issuer up to the root."""

    private_key: SignatureKey
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...]

    @property
    def root(self) -> x509.Certificate:
        """The trust anchor verification accepts: nothing outside the society's own hierarchy."""
        return self.chain[-1] if self.chain else self.certificate


def root_certificate_pem(identity: SigningIdentity) -> bytes:
    """The society root in PEM, for auditors' tools (``openssl cms -verify -CAfile``) and the public page."""
    return identity.root.public_bytes(serialization.Encoding.PEM)


def load_signing_identity(
    instance_path: Path, p12: Path | None = None, password: str | None = None
) -> SigningIdentity:
    """The PKCS#12 identity when one is configured, else the generated one (made on the first call)."""
    if p12 is not None:
        return _load_p12(p12, password)
    identity_dir = generated_identity_dir(instance_path)
    if not identity_dir.exists():
        _generate(identity_dir.parent)
    return _load_generated(identity_dir)


def _load_p12(path: Path, password: str | None) -> SigningIdentity:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise SigningIdentityError(
            f"CME_SIGNING_P12 {path} cannot be read: {error.strerror}.", details={"path": str(path)}
        ) from error
    try:
        key, certificate, extra = pkcs12.load_key_and_certificates(
            data, password.encode() if password is not None else None
        )
    except ValueError as error:
        raise SigningIdentityError(
            f"CME_SIGNING_P12 {path} cannot be opened: the password (CME_SIGNING_PASSWORD) is wrong "
            "or the file is not a PKCS#12 file.",
            details={"path": str(path)},
        ) from error
    if key is None or certificate is None:
        raise SigningIdentityError(f"CME_SIGNING_P12 {path} must hold a private key and its certificate.")
    if not isinstance(key, SignatureKey):
        raise SigningIdentityError(f"CME_SIGNING_P12 {path}: the key must be ECDSA or RSA.")
    return _checked(key, certificate, _chain_of(certificate, extra), str(path))


def _chain_of(certificate: x509.Certificate, pool: list[x509.Certificate]) -> tuple[x509.Certificate, ...]:
    """The issuers of ``certificate`` in order up to a self-signed root (PKCS#12 lists them unordered)."""
    chain: list[x509.Certificate] = []
    current = certificate
    while current.issuer != current.subject:
        issuer = next((candidate for candidate in pool if candidate.subject == current.issuer), None)
        if issuer is None or issuer in chain:
            break
        chain.append(issuer)
        current = issuer
    return tuple(chain)


def _checked(
    key: SignatureKey, certificate: x509.Certificate, chain: tuple[x509.Certificate, ...], source: str
) -> SigningIdentity:
    if key.public_key() != certificate.public_key():
        raise SigningIdentityError(f"{source}: the private key does not belong to the signing certificate.")
    top = chain[-1] if chain else certificate
    if top.issuer != top.subject:
        raise SigningIdentityError(
            f"{source}: the certificate chain must reach a self-signed root (add the root CA to the file); "
            "verification trusts that root and nothing else."
        )
    return SigningIdentity(private_key=key, certificate=certificate, chain=chain)


def _load_generated(identity_dir: Path) -> SigningIdentity:
    try:
        key = serialization.load_pem_private_key((identity_dir / SIGNER_KEY).read_bytes(), password=None)
        certificate = x509.load_pem_x509_certificate((identity_dir / SIGNER_CERT).read_bytes())
        root = x509.load_pem_x509_certificate((identity_dir / ROOT_CERT).read_bytes())
    except (OSError, ValueError) as error:
        raise SigningIdentityError(
            f"The signing identity in {identity_dir} is incomplete or damaged: restore it from a backup. "
            "Do not delete it: issued certificates verify only against its root."
        ) from error
    if not isinstance(key, SignatureKey):
        raise SigningIdentityError(f"{identity_dir / SIGNER_KEY} is not an ECDSA or RSA key.")
    return _checked(key, certificate, (root,), str(identity_dir))


def _generate(folder: Path) -> None:
    """Write a new root and signing certificate; when another process wins the race, keep the winner's."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".identity-", dir=folder))  # mode 0o700
    try:
        for name, content in _new_identity_files().items():
            _write_private(staging / name, content)
        os.rename(staging, generated_identity_dir(folder.parent))  # created whole by one rename
    except OSError as error:
        if error.errno not in (errno.EEXIST, errno.ENOTEMPTY):
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _write_private(path: Path, content: bytes) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())


def _new_identity_files() -> dict[str, bytes]:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    root_key = ec.generate_private_key(ec.SECP256R1())
    signer_key = ec.generate_private_key(ec.SECP256R1())
    root_name = _name(ROOT_NAME)
    root = (
        x509.CertificateBuilder()
        .subject_name(root_name)
        .issuer_name(root_name)
        .public_key(root_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=365 * ROOT_YEARS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(key_cert_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()), critical=False)
        .sign(root_key, hashes.SHA256())
    )
    signer = (
        x509.CertificateBuilder()
        .subject_name(_name(SIGNER_NAME))
        .issuer_name(root_name)
        .public_key(signer_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=365 * SIGNER_YEARS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(key_cert_sign=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(signer_key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()), critical=False
        )
        .sign(root_key, hashes.SHA256())
    )
    del root_key  # the root signs once; its key is never written (see the module's docstring)
    return {
        ROOT_CERT: root.public_bytes(serialization.Encoding.PEM),
        SIGNER_CERT: signer.public_bytes(serialization.Encoding.PEM),
        SIGNER_KEY: _private_pem(signer_key),
    }


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, SOCIETY),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _key_usage(*, key_cert_sign: bool) -> x509.KeyUsage:
    """A CA signs certificates only; the document signer gets the usages PAdES validators look for."""
    return x509.KeyUsage(
        digital_signature=not key_cert_sign,
        content_commitment=not key_cert_sign,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=key_cert_sign,
        crl_sign=key_cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _private_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
