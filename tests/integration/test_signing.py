"""Signed certificate files as others check them: poppler, qpdf, OpenSSL, and our own file-level verdict.

The PDFs are real PDF/A-3b files from WeasyPrint with a Japanese font and ``certificate.json`` attached; each
forgery is made the way a forger would (a flipped byte, an incremental update drawn with pyHanko's writer, a
look-alike society identity) and must be rejected with its own reason.
"""

from __future__ import annotations

import datetime as dt
import gc
import json
import re
import stat
import subprocess
import sys
import textwrap
import time
import warnings
from io import BytesIO
from pathlib import Path

import pikepdf
import pytest
from asn1crypto import cms
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import signers
from weasyprint import HTML, Attachment

from cme_tracker.documents.identity import SIGNER_KEY
from cme_tracker.documents.pdfcheck import FileProblem, inspect_signed_pdf
from cme_tracker.documents.signing import (
    DocumentSigner,
    SigningIdentity,
    SigningIdentityError,
    load_signing_identity,
    pyhanko_signer,
    root_certificate_pem,
    sign_detached,
    signature_metadata,
)
from cme_tracker.keys import IDENTITY_DIR
from tests.integration.card_reading import pdf_text

CONTENT_FILE = Path(__file__).parents[1] / "data" / "certificate_content.json"
LECTURE_ROW = (
    "<tr><td>09:{minute:02d}</td><td>心不全治療の最前線 講演{minute}</td><td>Heart failure</td></tr>"
)


def _certificate_pdf(attachment: bytes | None) -> bytes:
    """A PDF/A-3b about the size of a real certificate: CJK font subsets, a table, the JSON attached."""
    rows = "".join(LECTURE_ROW.format(minute=minute) for minute in range(12))
    page = f"""<html lang="ja"><head><style>@page {{ size: A4; margin: 20mm }}
      body {{ font-family: 'IPAexMincho', 'Noto Serif CJK JP'; font-size: 11pt }}</style></head><body>
      <h1>出席証明書 Certificate of Attendance</h1><p>髙橋 𠮷郎 TAKAHASHI Yoshiro (旧姓 山﨑)</p>
      <table>{rows}</table><p>第612回 国際医学会 学術講演会 東京国際フォーラム</p></body></html>"""
    attachments = (
        [] if attachment is None else [Attachment(file_obj=BytesIO(attachment), name="certificate.json")]
    )
    with warnings.catch_warnings():
        # WeasyPrint 70 opens its sRGB profile for PDF/A and never closes it (weasyprint/pdf/__init__.py).
        warnings.simplefilter("ignore", ResourceWarning)
        pdf = HTML(string=page).write_pdf(pdf_variant="pdf/a-3b", attachments=attachments)
        gc.collect()
    return pdf


@pytest.fixture(scope="module")
def unsigned_pdf() -> bytes:
    return _certificate_pdf(CONTENT_FILE.read_bytes())


@pytest.fixture(scope="module")
def instance_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("instance")


@pytest.fixture(scope="module")
def identity(instance_path: Path) -> SigningIdentity:
    return load_signing_identity(instance_path)


@pytest.fixture(scope="module")
def signer(identity: SigningIdentity) -> DocumentSigner:
    return DocumentSigner(identity)


@pytest.fixture(scope="module")
def signed_pdf(signer: DocumentSigner, unsigned_pdf: bytes) -> bytes:
    return signer.sign(unsigned_pdf)


def _pdfsig(pdf: bytes, tmp_path: Path) -> dict[str, str]:
    """``pdfsig`` output of the first signature as ``{label: value}``, plus bare lines as ``{line: ""}``."""
    path = tmp_path / "signed.pdf"
    path.write_bytes(pdf)
    output = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True, check=True).stdout
    fields: dict[str, str] = {}
    for line in output.splitlines():
        match = re.match(r"\s+- ([^:]+)(?:: (.*))?$", line)
        if match:
            fields.setdefault(match.group(1), match.group(2) or "")
    return fields


def test_poppler_finds_a_valid_pades_signature_over_the_whole_document(
    signed_pdf: bytes, tmp_path: Path
) -> None:
    fields = _pdfsig(signed_pdf, tmp_path)

    assert fields["Signature Validation"] == "Signature is Valid."
    assert "Total document signed" in fields
    assert fields["Signature Type"] == "ETSI.CAdES.detached"
    assert fields["Signer Certificate Common Name"] == "International Medical Society of Japan — Certificates"


def test_signed_file_stays_pdfa_with_its_attachment_and_passes_qpdf(
    signed_pdf: bytes, tmp_path: Path
) -> None:
    with pikepdf.open(BytesIO(signed_pdf)) as pdf:
        metadata = pdf.open_metadata()
        assert (metadata.get("pdfaid:part"), metadata.get("pdfaid:conformance")) == ("3", "B")
        attached = pdf.attachments["certificate.json"].get_file().read_bytes()
        signature_field = pdf.Root.AcroForm.Fields[0]
        assert list(signature_field.Rect) == [0, 0, 0, 0]  # invisible: no appearance PDF/A would check
        assert signature_field.V.Reason == "Certificate issued by the International Medical Society of Japan"
        assert str(signature_field.V.M).startswith("D:20")
    assert json.loads(attached) == json.loads(CONTENT_FILE.read_bytes())
    path = tmp_path / "signed.pdf"
    path.write_bytes(signed_pdf)
    check = subprocess.run(["qpdf", "--check", str(path)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr


def test_signed_file_passes_its_own_inspection(signed_pdf: bytes, identity: SigningIdentity) -> None:
    report = inspect_signed_pdf(signed_pdf, identity)

    assert report.ok, report.message
    assert report.problem is None
    assert report.content == json.loads(CONTENT_FILE.read_bytes())
    assert report.signed_at is not None
    assert abs(report.signed_at - dt.datetime.now(dt.UTC)) < dt.timedelta(hours=1)
    assert len(report.sha256) == 64


def test_fast_container_is_pyhankos_own_but_for_digest_and_signature_value(
    identity: SigningIdentity, signer: DocumentSigner, unsigned_pdf: bytes
) -> None:
    ours = _signer_info(signer.sign(unsigned_pdf))
    theirs = _signer_info(pyhanko_signed(identity, unsigned_pdf))

    for info in (ours, theirs):
        del info["signature"]
        for attribute in info["signed_attrs"]:
            if attribute["type"] == "message_digest":
                attribute["values"] = ["digest"]
    assert ours == theirs


def pyhanko_signed(identity: SigningIdentity, pdf: bytes) -> bytes:
    """The same document signed the plain pyHanko way, for comparing the containers."""
    writer = IncrementalPdfFileWriter(BytesIO(pdf))
    return signers.sign_pdf(writer, signature_metadata(), signer=pyhanko_signer(identity)).getvalue()


def _signer_info(pdf: bytes) -> dict[str, object]:
    with pikepdf.open(BytesIO(pdf)) as document:
        contents = bytes(document.Root.AcroForm.Fields[0].V.Contents)
    container = cms.ContentInfo.load(contents)  # not strict: the zero padding after the DER is ignored
    assert container["content"]["certificates"] is not None
    info = container["content"]["signer_infos"][0].native
    info["certificates"] = sorted(cert.chosen.sha256 for cert in container["content"]["certificates"])
    return dict(info)


# Forgeries ----------------------------------------------------------------------------------------------


def _largest_stream_middle(pdf: bytes) -> int:
    starts = [match.end() for match in re.finditer(rb"stream\r?\n", pdf)]
    spans = [(pdf.find(b"endstream", start) - start, start) for start in starts]
    length, start = max(spans)
    return start + length // 2


def test_one_changed_byte_in_a_stream_breaks_the_signature(
    signed_pdf: bytes, identity: SigningIdentity
) -> None:
    offset = _largest_stream_middle(signed_pdf)
    forged = bytearray(signed_pdf)
    forged[offset] ^= 0x01

    report = inspect_signed_pdf(bytes(forged), identity)

    assert report.problem is FileProblem.SIGNATURE_BROKEN
    assert "changed" in report.message


def test_one_changed_digit_of_a_date_breaks_the_signature(
    signed_pdf: bytes, identity: SigningIdentity
) -> None:
    offset = signed_pdf.index(b"(D:20") + len(b"(D:")
    forged = signed_pdf[:offset] + b"19" + signed_pdf[offset + 2 :]

    assert inspect_signed_pdf(forged, identity).problem is FileProblem.SIGNATURE_BROKEN


def _contents_hole(pdf: bytes) -> tuple[int, int]:
    """Where the hex signature container sits: the one part of the file outside the signed byte range."""
    start = pdf.index(b"/Contents <") + len(b"/Contents <")
    return start, pdf.index(b">", start)


def test_a_changed_signature_value_breaks_the_signature(signed_pdf: bytes, identity: SigningIdentity) -> None:
    start, end = _contents_hole(signed_pdf)
    der_hex_end = start + len(signed_pdf[start:end].rstrip(b"0"))
    offset = der_hex_end - 20  # inside the ECDSA value, the last field of the container
    forged = (
        signed_pdf[:offset]
        + (b"1" if signed_pdf[offset : offset + 1] != b"1" else b"2")
        + signed_pdf[offset + 1 :]
    )

    assert inspect_signed_pdf(forged, identity).problem is FileProblem.SIGNATURE_BROKEN


@settings(max_examples=40, deadline=None)
@given(position=st.floats(min_value=0, max_value=1, exclude_max=True), value=st.integers(0, 255))
def test_no_changed_byte_outside_the_signature_container_passes(
    signed_pdf: bytes, identity: SigningIdentity, position: float, value: int
) -> None:
    start, end = _contents_hole(signed_pdf)
    offset = int(position * (len(signed_pdf) - (end - start)))
    offset += end - start if offset >= start else 0
    assume(signed_pdf[offset] != value)
    forged = signed_pdf[:offset] + bytes([value]) + signed_pdf[offset + 1 :]

    report = inspect_signed_pdf(forged, identity)

    assert not report.ok
    assert report.problem in (FileProblem.SIGNATURE_BROKEN, FileProblem.NOT_A_PDF)


def test_damaged_compressed_data_of_a_cross_reference_stream_is_a_broken_signature(
    signed_pdf: bytes, identity: SigningIdentity
) -> None:
    """Found by the test above: zlib cannot inflate the index of the file's objects, and says so with an
    error of its own."""
    index = signed_pdf.index(b"stream\n", signed_pdf.rindex(b"/Type /XRef")) + len(b"stream\n")
    for offset in range(index + 2, index + 12):
        forged = signed_pdf[:offset] + bytes([signed_pdf[offset] ^ 0xFF]) + signed_pdf[offset + 1 :]

        report = inspect_signed_pdf(forged, identity)

        assert not report.ok
        assert report.problem in (FileProblem.SIGNATURE_BROKEN, FileProblem.NOT_A_PDF)


def test_a_filter_name_changed_into_an_unknown_one_is_a_broken_signature(
    signed_pdf: bytes, identity: SigningIdentity
) -> None:
    """Found by the test above: pyHanko cannot decode such a stream, and says so another way."""
    offsets = [match.end() - 1 for match in re.finditer(rb"/FlateDecode", signed_pdf)]
    assert offsets
    for offset in offsets:
        forged = signed_pdf[:offset] + b"f" + signed_pdf[offset + 1 :]

        report = inspect_signed_pdf(forged, identity)

        assert report.problem in (FileProblem.SIGNATURE_BROKEN, FileProblem.NOT_A_PDF), offset


def _overlay_text(pdf: bytes, text: str) -> bytes:
    """The classic forgery: an incremental update that paints over the page and writes new text on it."""
    writer = IncrementalPdfFileWriter(BytesIO(pdf))
    page_ref = writer.root["/Pages"]["/Kids"][0]
    page = page_ref.get_object()
    font = writer.add_object(
        generic.DictionaryObject(
            {
                generic.NameObject("/Type"): generic.NameObject("/Font"),
                generic.NameObject("/Subtype"): generic.NameObject("/Type1"),
                generic.NameObject("/BaseFont"): generic.NameObject("/Helvetica"),
            }
        )
    )
    drawing = f"q 1 1 1 rg 40 560 515 240 re f Q BT /Forged 28 Tf 60 700 Td ({text}) Tj ET".encode()
    resources = generic.DictionaryObject(
        {
            generic.NameObject("/Font"): generic.DictionaryObject({generic.NameObject("/Forged"): font}),
        }
    )
    form = writer.add_object(
        generic.StreamObject(
            {
                generic.NameObject("/Type"): generic.NameObject("/XObject"),
                generic.NameObject("/Subtype"): generic.NameObject("/Form"),
                generic.NameObject("/BBox"): generic.ArrayObject(
                    [generic.NumberObject(n) for n in (0, 0, 600, 850)]
                ),
                generic.NameObject("/Resources"): resources,
            },
            stream_data=drawing,
        )
    )
    invoke = writer.add_object(generic.StreamObject(stream_data=b"q /ForgedForm Do Q"))
    page_resources = page["/Resources"]
    xobjects = page_resources.setdefault(generic.NameObject("/XObject"), generic.DictionaryObject())
    xobjects.get_object()[generic.NameObject("/ForgedForm")] = form
    existing = page["/Contents"]
    contents = list(existing) if isinstance(existing, generic.ArrayObject) else [page.raw_get("/Contents")]
    page[generic.NameObject("/Contents")] = generic.ArrayObject([*contents, invoke])
    writer.update_container(page)
    if isinstance(page.raw_get("/Resources"), generic.IndirectObject):
        writer.update_container(page_resources)
    if isinstance(page_resources.raw_get("/XObject"), generic.IndirectObject):
        writer.update_container(xobjects.get_object())
    output = BytesIO()
    writer.write(output)
    return output.getvalue()


def test_text_overlaid_by_an_incremental_update_is_detected(
    signed_pdf: bytes, identity: SigningIdentity
) -> None:
    forged = _overlay_text(signed_pdf, "FORGED 99 CREDITS")
    assert "FORGED 99 CREDITS" in pdf_text(forged)  # the forgery really changes what the page shows

    report = inspect_signed_pdf(forged, identity)

    assert report.problem is FileProblem.MODIFIED_AFTER_SIGNING
    assert "added to the file after it was signed" in report.message
    assert report.content == json.loads(CONTENT_FILE.read_bytes())  # what was signed, not what was added


def test_bytes_appended_after_the_signed_file_are_detected(
    signed_pdf: bytes, identity: SigningIdentity
) -> None:
    report = inspect_signed_pdf(signed_pdf + b"\n% nothing to see\n", identity)

    assert report.problem is FileProblem.MODIFIED_AFTER_SIGNING


def test_a_second_signature_after_ours_is_an_addition(
    signed_pdf: bytes, identity: SigningIdentity, tmp_path: Path
) -> None:
    writer = IncrementalPdfFileWriter(BytesIO(signed_pdf))
    meta = signers.PdfSignatureMetadata(field_name="Countersignature")
    other = pyhanko_signer(load_signing_identity(tmp_path))
    countersigned = signers.sign_pdf(writer, meta, signer=other).getvalue()

    assert inspect_signed_pdf(countersigned, identity).problem is FileProblem.MODIFIED_AFTER_SIGNING


def test_a_file_signed_by_a_look_alike_society_is_foreign(
    unsigned_pdf: bytes, identity: SigningIdentity, tmp_path: Path
) -> None:
    impostor = load_signing_identity(tmp_path)  # same names, other keys
    assert impostor.root.subject == identity.root.subject

    report = inspect_signed_pdf(DocumentSigner(impostor).sign(unsigned_pdf), identity)

    assert report.problem is FileProblem.FOREIGN_SIGNER
    assert "not by the society's signing key" in report.message


def test_another_key_certified_by_the_society_root_is_foreign(unsigned_pdf: bytes) -> None:
    """Trusting the root is not enough: a public CA that issued our certificate issues others too."""
    root_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Public CA")])
    root_key = ec.generate_private_key(ec.SECP256R1())
    root = _certificate(root_name, root_name, root_key, root_key, ca=True)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "IMSJ")])
    ours_key, sibling_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ours = SigningIdentity(ours_key, _certificate(subject, root_name, ours_key, root_key, ca=False), (root,))
    sibling = _certificate(subject, root_name, sibling_key, root_key, ca=False)
    sibling_identity = SigningIdentity(private_key=sibling_key, certificate=sibling, chain=(root,))

    assert inspect_signed_pdf(DocumentSigner(ours).sign(unsigned_pdf), ours).problem is None
    report = inspect_signed_pdf(DocumentSigner(sibling_identity).sign(unsigned_pdf), ours)

    assert report.problem is FileProblem.FOREIGN_SIGNER


def test_an_unsigned_certificate_is_reported_unsigned_with_its_content(
    unsigned_pdf: bytes, identity: SigningIdentity
) -> None:
    report = inspect_signed_pdf(unsigned_pdf, identity)

    assert report.problem is FileProblem.UNSIGNED
    assert report.content is not None and report.content["serial"] == "A-2026-11-000123-1"


@pytest.mark.parametrize(
    "data", [b"", b"hello, this is not a PDF", b"GIF89a\x01\x00\x01\x00", b"%PDF-1.7\n%%EOF\n"]
)
def test_something_that_is_not_a_pdf_is_reported_so(data: bytes, identity: SigningIdentity) -> None:
    report = inspect_signed_pdf(data, identity)

    assert report.problem is FileProblem.NOT_A_PDF
    assert not report.ok


@pytest.mark.parametrize("attachment", [None, b"{not json", b"[1, 2, 3]"])
def test_a_signed_pdf_without_certificate_data_has_no_content(
    attachment: bytes | None, signer: DocumentSigner, identity: SigningIdentity
) -> None:
    report = inspect_signed_pdf(signer.sign(_certificate_pdf(attachment)), identity)

    assert report.problem is FileProblem.NO_CONTENT
    assert report.content is None


# Identity -----------------------------------------------------------------------------------------------


def test_identity_is_generated_once_with_private_key_files(tmp_path: Path) -> None:
    first = load_signing_identity(tmp_path)
    second = load_signing_identity(tmp_path)

    assert first.certificate == second.certificate
    assert first.root == second.root
    folder = tmp_path / "signing"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE((folder / IDENTITY_DIR / SIGNER_KEY).stat().st_mode) == 0o600
    assert [path.name for path in folder.iterdir()] == [IDENTITY_DIR]


def test_generated_certificates_suit_a_society_root_and_pades(tmp_path: Path) -> None:
    identity = load_signing_identity(tmp_path)

    assert identity.root.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "IMSJ Root CA"
    assert identity.certificate.issuer == identity.root.subject
    usage = identity.certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.content_commitment and not usage.key_cert_sign
    assert identity.root.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert identity.root.not_valid_after_utc - identity.root.not_valid_before_utc > dt.timedelta(
        days=365 * 20
    )
    assert isinstance(identity.private_key, ec.EllipticCurvePrivateKey)


def test_a_damaged_generated_identity_is_reported_not_replaced(tmp_path: Path) -> None:
    load_signing_identity(tmp_path)
    (tmp_path / "signing" / IDENTITY_DIR / SIGNER_KEY).write_bytes(b"not a key")

    with pytest.raises(SigningIdentityError, match="restore it from a backup"):
        load_signing_identity(tmp_path)


RACER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from cryptography.hazmat.primitives import hashes
    from cme_tracker.documents.signing import load_signing_identity
    instance, go = Path(sys.argv[1]), Path(sys.argv[2])
    while not go.exists():
        time.sleep(0.001)
    print(load_signing_identity(instance).certificate.fingerprint(hashes.SHA256()).hex())
    """
)


def test_processes_racing_the_first_generation_end_with_one_identity(tmp_path: Path) -> None:
    go = tmp_path / "go"
    racers = [
        subprocess.Popen(
            [sys.executable, "-c", RACER, str(tmp_path / "instance"), str(go)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(6)
    ]
    time.sleep(1.5)  # let every interpreter import and reach the starting line
    go.touch()
    fingerprints = {racer.communicate(timeout=60)[0].strip() for racer in racers}

    assert all(racer.returncode == 0 for racer in racers)
    assert len(fingerprints) == 1
    on_disk = load_signing_identity(tmp_path / "instance").certificate.fingerprint(hashes.SHA256()).hex()
    assert fingerprints == {on_disk}
    assert [path.name for path in (tmp_path / "instance" / "signing").iterdir()] == [IDENTITY_DIR]


def _certificate(
    subject: x509.Name,
    issuer: x509.Name,
    key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey,
    issuer_key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey,
    *,
    ca: bool,
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=not ca,
                content_commitment=not ca,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=ca,
                crl_sign=ca,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(issuer_key, hashes.SHA256())
    )


def _rsa_p12(path: Path, password: bytes, *, with_root: bool = True) -> Path:
    """A PKCS#12 as a commercial CA would deliver it: RSA key, certificate, and the chain."""
    root_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    root_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test Root CA")])
    root = _certificate(root_name, root_name, root_key, root_key, ca=True)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "IMSJ test signer")])
    certificate = _certificate(subject, root_name, key, root_key, ca=False)
    path.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"society",
            key,
            certificate,
            [root] if with_root else None,
            serialization.BestAvailableEncryption(password),
        )
    )
    return path


def test_a_p12_identity_loads_and_signs(unsigned_pdf: bytes, tmp_path: Path) -> None:
    p12 = _rsa_p12(tmp_path / "society.p12", b"s3cret")

    identity = load_signing_identity(tmp_path, p12, "s3cret")
    signed = DocumentSigner(identity).sign(unsigned_pdf)

    assert isinstance(identity.private_key, rsa.RSAPrivateKey)
    assert not (tmp_path / "signing").exists()  # nothing generated beside a configured identity
    assert inspect_signed_pdf(signed, identity).ok
    assert _pdfsig(signed, tmp_path)["Signature Validation"] == "Signature is Valid."


def test_a_p12_with_a_wrong_password_gives_a_clear_error(tmp_path: Path) -> None:
    p12 = _rsa_p12(tmp_path / "society.p12", b"s3cret")

    with pytest.raises(SigningIdentityError, match="password"):
        load_signing_identity(tmp_path, p12, "guess")


def test_a_missing_p12_file_gives_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SigningIdentityError, match="cannot be read"):
        load_signing_identity(tmp_path, tmp_path / "absent.p12", "s3cret")


def test_a_p12_without_its_root_is_refused(tmp_path: Path) -> None:
    p12 = _rsa_p12(tmp_path / "society.p12", b"s3cret", with_root=False)

    with pytest.raises(SigningIdentityError, match="self-signed root"):
        load_signing_identity(tmp_path, p12, "s3cret")


# Detached signatures ------------------------------------------------------------------------------------


def _openssl_verify(signature: bytes, data: bytes, identity: SigningIdentity, tmp_path: Path) -> int:
    (tmp_path / "SHA256SUMS").write_bytes(data)
    (tmp_path / "SHA256SUMS.p7s").write_bytes(signature)
    (tmp_path / "root.pem").write_bytes(root_certificate_pem(identity))
    command = "openssl cms -verify -binary -inform DER -in SHA256SUMS.p7s -content SHA256SUMS"
    command += " -CAfile root.pem -purpose any -out /dev/null"
    return subprocess.run(command.split(), cwd=tmp_path, capture_output=True).returncode


def test_detached_signature_verifies_with_openssl(identity: SigningIdentity, tmp_path: Path) -> None:
    data = "".join(f"{n:064x}  transcript-{n}.pdf\n" for n in range(50)).encode()

    assert _openssl_verify(sign_detached(data, identity), data, identity, tmp_path) == 0


def test_detached_signature_fails_after_one_changed_byte(identity: SigningIdentity, tmp_path: Path) -> None:
    data = "".join(f"{n:064x}  transcript-{n}.pdf\n" for n in range(50)).encode()
    signature = sign_detached(data, identity)
    changed = data[:100] + bytes([data[100] ^ 0x01]) + data[101:]

    assert _openssl_verify(signature, changed, identity, tmp_path) != 0


def test_detached_signature_fails_against_another_root(identity: SigningIdentity, tmp_path: Path) -> None:
    data = b"manifest\n"
    other = load_signing_identity(tmp_path / "other")

    assert _openssl_verify(sign_detached(data, other), data, identity, tmp_path) != 0
