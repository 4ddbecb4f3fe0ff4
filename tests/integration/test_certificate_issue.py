"""Issuing certificates end to end: content, real PDFs checked with poppler, reruns, reissue, revoke, CLI."""

from __future__ import annotations

import json
import subprocess
from io import BytesIO
from pathlib import Path

import pikepdf
import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from sqlalchemy import select
from sqlalchemy.orm import Session

from cme_tracker.certificates.issue import ATTENDANCE, issue_attendance_certificates
from cme_tracker.db import Database
from cme_tracker.document_kinds import KINDS
from cme_tracker.documents.identity import load_signing_identity
from cme_tracker.documents.issue import reissue_certificate, revoke_certificate
from cme_tracker.documents.locks import RunInProgress, subject_lock
from cme_tracker.documents.maker import DocumentMaker
from cme_tracker.documents.models import Certificate, CertificateStatus, RevocationCategory
from cme_tracker.documents.setup import DocumentSetup
from cme_tracker.documents.signing import DocumentSigner
from cme_tracker.documents.storage import CertificateStore
from cme_tracker.errors import Conflict, DomainError
from tests.conftest import CommandLine
from tests.factories import attend
from tests.integration.certificate_data import CertificateYear, certificate_year


@pytest.fixture
def instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "instance"
    folder.mkdir()
    monkeypatch.setenv("CME_INSTANCE_PATH", str(folder))
    monkeypatch.setenv("CME_PUBLIC_URL", "https://cme.example.org")
    return folder


@pytest.fixture
def setup(instance: Path) -> DocumentSetup:
    return DocumentSetup(instance, public_url="https://cme.example.org")


@pytest.fixture
def year(db: Database) -> CertificateYear:
    with db.sessions() as session, session.begin():
        return certificate_year(session)


def certificates_of(session: Session) -> list[Certificate]:
    return list(session.scalars(select(Certificate).order_by(Certificate.id)))


def run(*command: str, data: bytes | None = None) -> str:
    return subprocess.run(command, check=True, capture_output=True, input=data).stdout.decode()


def test_a_symposium_run_certifies_each_member_with_credited_attendance_once(
    db: Database, setup: DocumentSetup, year: CertificateYear, instance: Path
) -> None:
    report = issue_attendance_certificates(db, setup, "2026-05", actor="test")

    assert len(report.issued) == 4
    assert report.not_credited == 1  # stayed five minutes; the voided scan is no attendance at all
    with db.sessions() as session:
        issued = certificates_of(session)
        assert {certificate.member_id for certificate in issued} == {member.id for member in year.eligible}
        for certificate in issued:
            assert certificate.status == CertificateStatus.VALID
            assert certificate.content["verify_url"] == (
                f"https://cme.example.org/verify/{certificate.serial}?c={certificate.verification_code}"
            )
            assert CertificateStore(instance).read(certificate.file_path)[:5] == b"%PDF-"
    again = issue_attendance_certificates(db, setup, "2026-05", actor="test")
    assert again.issued == [] and again.total == 1  # only the member without credits is looked at again


def test_the_issued_file_is_signed_embeds_its_font_and_carries_its_text(
    db: Database, setup: DocumentSetup, year: CertificateYear, instance: Path, tmp_path: Path
) -> None:
    issue_attendance_certificates(db, setup, "2026-05", actor="test", member_no=year.physician.member_no)
    with db.sessions() as session:
        (certificate,) = certificates_of(session)
    path = instance / certificate.file_path

    signature = run("pdfsig", str(path))
    assert "Signature Validation: Signature is Valid." in signature
    assert "Total document signed" in signature
    fonts = run("pdffonts", str(path)).splitlines()[2:]
    assert fonts and all(line.split()[-5] == "yes" for line in fonts)  # the "emb" column
    assert any("CJK" in line or "IPAex" in line for line in fonts)
    text = run("pdftotext", "-layout", str(path), "-")
    assert "髙橋" in text and "𠮷郎" in text and "TAKAHASHI Yoshiro" in text
    assert certificate.serial in text and "心不全の最新治療" in text
    with pikepdf.open(path) as pdf:
        assert pdf.open_metadata().pdfa_status == "3B"
        attached = json.loads(pdf.attachments["certificate.json"].get_file().read_bytes())
    assert attached == certificate.content


def test_only_the_members_own_text_is_in_their_file(
    db: Database, setup: DocumentSetup, year: CertificateYear, instance: Path
) -> None:
    issue_attendance_certificates(db, setup, "2026-05", actor="test")
    with db.sessions() as session:
        files = {c.member_id: instance / c.file_path for c in certificates_of(session)}
    dentist_text = run("pdftotext", str(files[year.dentist.id]), "-")
    assert "佐藤" in dentist_text
    assert "髙橋" not in dentist_text and "Müller" not in dentist_text and "鈴木" not in dentist_text


def test_a_reissue_supersedes_the_old_certificate_and_names_its_successor(
    db: Database, setup: DocumentSetup, year: CertificateYear
) -> None:
    issue_attendance_certificates(db, setup, "2026-05", actor="test", member_no=year.dentist.member_no)
    with db.sessions() as session, session.begin():
        (old,) = certificates_of(session)
        attend(
            session, session.merge(year.dentist), session.merge(year.symposium.lectures[2]), "12:58", "14:00"
        )

    successor = reissue_certificate(db, setup, KINDS, old.serial, actor="test")

    with db.sessions() as session:
        before = session.get(Certificate, old.id)
        assert before is not None and before.status == CertificateStatus.SUPERSEDED
        assert before.replaced_by_id == successor.id
        after = session.get(Certificate, successor.id)
        assert after is not None and after.status == CertificateStatus.VALID and after.revision == 2
        assert after.content["replaces"] == old.serial
        assert len(after.content["lectures"]) == len(old.content["lectures"]) + 1
    with pytest.raises(Conflict, match="superseded"):
        reissue_certificate(db, setup, KINDS, old.serial, actor="test")


def test_revocation_needs_a_reason_and_keeps_its_category(
    db: Database, setup: DocumentSetup, year: CertificateYear
) -> None:
    issue_attendance_certificates(db, setup, "2026-05", actor="test", member_no=year.german.member_no)
    with db.sessions() as session, session.begin():
        (certificate,) = certificates_of(session)
        with pytest.raises(DomainError, match="reason"):
            revoke_certificate(
                session, certificate.serial, category=RevocationCategory.OTHER, reason=" ", actor="t"
            )
        revoke_certificate(
            session,
            certificate.serial,
            category=RevocationCategory.ISSUED_IN_ERROR,
            reason="wrong day",
            actor="t",
        )
    with db.sessions() as session:
        (certificate,) = certificates_of(session)
        assert certificate.status == CertificateStatus.REVOKED
        assert certificate.revocation_category == "issued_in_error" and certificate.revoked_at is not None
    # a revoked certificate is no obstacle to issuing a correct one
    assert (
        len(
            issue_attendance_certificates(
                db, setup, "2026-05", actor="t", member_no=year.german.member_no
            ).issued
        )
        == 1
    )


def test_a_second_run_of_the_same_symposium_is_refused_while_one_holds_it(
    db: Database, setup: DocumentSetup, year: CertificateYear, instance: Path
) -> None:
    with subject_lock(db.engine, instance, "attendance/2026-05"), pytest.raises(RunInProgress):
        issue_attendance_certificates(db, setup, "2026-05", actor="test")


def test_a_run_removes_files_an_interrupted_run_left_without_a_record(
    db: Database, setup: DocumentSetup, year: CertificateYear, instance: Path
) -> None:
    store = CertificateStore(instance)
    folder = store.folder("attendance/2026-05")
    folder.mkdir(parents=True)
    (folder / "A26-0000-0000.pdf").write_bytes(b"%PDF-1.7 half")
    (folder / ".A26-0000-0001.pdf.123.partial").write_bytes(b"%PDF")

    report = issue_attendance_certificates(db, setup, "2026-05", actor="test")

    assert report.swept == 2
    with db.sessions() as session:
        recorded = {Path(c.file_path).name for c in certificates_of(session)}
    assert {path.name for path in folder.iterdir()} == recorded


class TestVerifyCommand:
    """`certificates verify FILE`: exit 0 for the issued file, 1 with the reason for every forgery."""

    @pytest.fixture
    def issued(
        self, db: Database, setup: DocumentSetup, year: CertificateYear, instance: Path
    ) -> Certificate:
        issue_attendance_certificates(db, setup, "2026-05", actor="test", member_no=year.physician.member_no)
        with db.sessions() as session:
            (certificate,) = certificates_of(session)
        return certificate

    def verify(self, cli: CommandLine, tmp_path: Path, data: bytes) -> tuple[int, str]:
        path = tmp_path / "upload.pdf"
        path.write_bytes(data)
        result = cli("certificates", "verify", str(path))
        return result.exit_code, result.output

    def test_the_issued_file_is_valid(
        self, cli: CommandLine, tmp_path: Path, issued: Certificate, instance: Path
    ) -> None:
        code, output = self.verify(cli, tmp_path, (instance / issued.file_path).read_bytes())
        assert code == 0, output
        assert f"Certificate {issued.serial} is valid" in output

    def test_a_changed_byte_breaks_the_signature(
        self, cli: CommandLine, tmp_path: Path, issued: Certificate, instance: Path
    ) -> None:
        data = bytearray((instance / issued.file_path).read_bytes())
        position = data.index(b"/Producer")
        data[position + 12] ^= 0x01
        code, output = self.verify(cli, tmp_path, bytes(data))
        assert code == 1 and "signature_broken" in output

    def test_text_overlaid_by_an_incremental_update_is_detected(
        self, cli: CommandLine, tmp_path: Path, issued: Certificate, instance: Path
    ) -> None:
        writer = IncrementalPdfFileWriter(BytesIO((instance / issued.file_path).read_bytes()))
        overlay = writer.add_object(
            generic.StreamObject(stream_data=b"BT /F1 30 Tf 100 400 Td (99 credits) Tj ET")
        )
        writer.add_stream_to_page(0, overlay)
        forged = BytesIO()
        writer.write(forged)
        code, output = self.verify(cli, tmp_path, forged.getvalue())
        assert code == 1 and "modified_after_signing" in output

    def test_a_file_signed_by_another_key_is_not_ours(
        self, cli: CommandLine, tmp_path: Path, issued: Certificate
    ) -> None:
        other = DocumentMaker(DocumentSetup(tmp_path / "elsewhere"))
        forged = other.signer.sign(other.renderer_for(ATTENDANCE).render(issued.content))  # type: ignore[arg-type]
        code, output = self.verify(cli, tmp_path, forged)
        assert code == 1 and "foreign_signer" in output

    def test_our_signature_on_a_file_we_did_not_issue_is_not_enough(
        self, cli: CommandLine, tmp_path: Path, issued: Certificate, setup: DocumentSetup
    ) -> None:
        maker = DocumentMaker(setup)
        inflated = dict(issued.content)
        inflated["policies"] = [dict(policy, total="99") for policy in issued.content["policies"]]
        forged = maker.signer.sign(maker.renderer_for(ATTENDANCE).render(inflated))  # type: ignore[arg-type]
        code, output = self.verify(cli, tmp_path, forged)
        assert code == 1 and "hash_mismatch" in output

    def test_a_revoked_certificate_is_not_valid(
        self, cli: CommandLine, tmp_path: Path, issued: Certificate, instance: Path
    ) -> None:
        assert (
            cli(
                "certificates",
                "revoke",
                issued.serial,
                "--reason",
                "duplicate",
                "--category",
                "issued_in_error",
            ).exit_code
            == 0
        )
        code, output = self.verify(cli, tmp_path, (instance / issued.file_path).read_bytes())
        assert code == 1 and "revoked" in output and "issued in error" in output

    def test_a_superseded_certificate_names_its_successor(
        self, cli: CommandLine, tmp_path: Path, issued: Certificate, instance: Path
    ) -> None:
        result = cli("certificates", "reissue", issued.serial)
        assert result.exit_code == 0, result.output
        successor = result.output.split()[-1]
        code, output = self.verify(cli, tmp_path, (instance / issued.file_path).read_bytes())
        assert code == 1 and "superseded" in output and successor in output

    def test_a_text_file_is_not_a_pdf(self, cli: CommandLine, tmp_path: Path, issued: Certificate) -> None:
        code, output = self.verify(cli, tmp_path, b"certainly a certificate")
        assert code == 1 and "not_a_pdf" in output


def test_the_issue_command_reports_what_it_did(
    cli: CommandLine, year: CertificateYear, instance: Path
) -> None:
    result = cli("certificates", "issue", "--symposium", "2026-05")
    assert result.exit_code == 0, result.output
    assert "2026-05: 4 issued, 1 without credited attendance" in result.output
    assert (
        cli("certificates", "issue", "--symposium", "2026-05")
        .output.strip()
        .endswith("0 issued, 1 without credited attendance")
    )
    assert cli("certificates", "issue", "--symposium", "1999-01").exit_code == 1


def test_the_signing_identity_is_made_once_and_kept_private(setup: DocumentSetup, instance: Path) -> None:
    first = load_signing_identity(instance)
    assert load_signing_identity(instance).certificate == first.certificate
    for path in (instance / "signing").rglob("*key*"):
        assert path.stat().st_mode & 0o077 == 0
    DocumentSigner(first)
