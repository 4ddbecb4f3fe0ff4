"""The hand-encoded parts of a signature: DER lengths and the order of a PKCS#12 certificate chain."""

from __future__ import annotations

import datetime as dt
import random

from asn1crypto import core
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from hypothesis import given
from hypothesis import strategies as st

from cme_tracker.documents.identity import _chain_of
from cme_tracker.documents.signing import _der


@given(st.binary(max_size=70_000))
def test_der_element_matches_asn1crypto_for_every_length_form(content: bytes) -> None:
    assert _der(0x04, content) == core.OctetString(content).dump()


def _issued(
    name: str, issuer: tuple[str, ec.EllipticCurvePrivateKey] | None
) -> tuple[str, ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    issuer_name, issuer_key = issuer or (name, key)
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer_name)]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(issuer_key, hashes.SHA256())
    )
    return name, key, certificate


def test_chain_is_ordered_from_the_issuer_up_to_the_root_whatever_the_file_order() -> None:
    root_name, root_key, root = _issued("Root", None)
    middle_name, middle_key, middle = _issued("Intermediate", (root_name, root_key))
    _, _, leaf = _issued("Signer", (middle_name, middle_key))
    _, _, stranger = _issued("Unrelated", None)
    pool = [root, stranger, middle]
    random.Random(5).shuffle(pool)

    assert _chain_of(leaf, pool) == (middle, root)


def test_chain_stops_where_an_issuer_is_missing() -> None:
    root_name, root_key, _ = _issued("Root", None)
    _, _, leaf = _issued("Signer", (root_name, root_key))

    assert _chain_of(leaf, []) == ()
