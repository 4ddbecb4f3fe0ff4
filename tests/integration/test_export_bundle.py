"""The ZIP bundle: every transcript, a manifest and signatures that standard tools check, a checkpoint."""

from __future__ import annotations

import csv
import io
import subprocess
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from cme_tracker.audit.anchor import Mark, head_mac
from cme_tracker.audit.models import AuditEvent, AuditHead
from cme_tracker.db import Database
from cme_tracker.documents.setup import DocumentSetup
from cme_tracker.exports.formats import FORMATS
from cme_tracker.exports.services import export_transcripts
from cme_tracker.program.models import Lecture
from cme_tracker.vocabulary import YearBasis
from tests.conftest import TEST_AUDIT_KEY, CommandLine
from tests.factories import attend, make_member
from tests.integration.test_export import worked_examples

pytestmark = pytest.mark.slow

OPENSSL_VERIFY = (
    "openssl cms -verify -binary -inform DER -in SHA256SUMS.p7s -content SHA256SUMS"
    " -CAfile society-root.pem -purpose any -out /dev/null"
)


@pytest.fixture
def bundle(db: Database, session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The 2026 bundle of two members, unpacked: the folder holding SHA256SUMS."""
    instance = tmp_path / "instance"
    instance.mkdir()
    monkeypatch.setenv("CME_INSTANCE_PATH", str(instance))
    worked_examples(session)
    dentist = make_member(
        session, member_no="000123", profession="dentist", medical_registry_no=None, dental_registry_no="D77"
    )
    full_lecture = session.scalars(select(Lecture).where(Lecture.code == "2026-05-L2")).one()
    attend(session, dentist, full_lecture, "13:00", "14:30")
    session.commit()
    out = tmp_path / "export.zip"
    report = export_transcripts(
        db,
        DocumentSetup(instance, public_url="https://cme.example.org"),
        2026,
        YearBasis.CALENDAR,
        FORMATS["zip"],
        out,
        actor="auditor-test",
    )
    assert report.transcripts == 2
    with zipfile.ZipFile(out) as archive:
        archive.extractall(tmp_path / "unpacked")
    return tmp_path / "unpacked" / "cme-export-2026-calendar"


def shell(command: str, folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, shell=True, cwd=folder, capture_output=True, text=True)


def test_the_bundle_verifies_with_the_documented_commands(bundle: Path) -> None:
    checked = shell("sha256sum -c SHA256SUMS", bundle)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    listed = [line.split("  ", 1)[1] for line in (bundle / "SHA256SUMS").read_text().splitlines()]
    assert {"detail.csv", "totals.csv", "policies.csv", "export.xlsx", "export.json"} <= set(listed)
    assert {"society-root.pem", "audit-checkpoint.json", "audit-checkpoint.json.p7s"} <= set(listed)
    assert sorted(name for name in listed if name.startswith("transcripts/"))[0].startswith(
        "transcripts/000123_"
    )
    signed = shell(OPENSSL_VERIFY, bundle)
    assert signed.returncode == 0, signed.stderr
    checkpoint = shell(
        "openssl cms -verify -binary -inform DER -in audit-checkpoint.json.p7s -content audit-checkpoint.json"
        " -CAfile society-root.pem -purpose any -out /dev/null",
        bundle,
    )
    assert checkpoint.returncode == 0, checkpoint.stderr


def test_a_changed_file_fails_sha256sum(bundle: Path) -> None:
    detail = bundle / "detail.csv"
    detail.write_bytes(detail.read_bytes().replace(b",1.5,", b",2.5,", 1))
    checked = shell("sha256sum -c SHA256SUMS", bundle)
    assert checked.returncode == 1
    assert "detail.csv: FAILED" in checked.stdout


def test_a_changed_manifest_fails_the_signature_check(bundle: Path) -> None:
    manifest = bundle / "SHA256SUMS"
    lines = manifest.read_text().splitlines(keepends=True)
    manifest.write_text("".join(lines[1:]))  # a file dropped from the manifest
    assert shell(OPENSSL_VERIFY, bundle).returncode != 0


def test_the_transcript_pdfs_show_the_totals_of_the_tables(bundle: Path) -> None:
    totals = list(csv.DictReader(io.StringIO((bundle / "totals.csv").read_text(encoding="utf-8-sig"))))
    for pdf in sorted((bundle / "transcripts").iterdir()):
        member_no = pdf.name.split("_", 1)[0]
        text = subprocess.run(
            ["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True
        ).stdout
        rows = [row for row in totals if row["member_no"] == member_no and row["field"] == "total"]
        assert rows
        for row in rows:
            assert f"{row['amount']} {row['unit']}" in text, (member_no, row)


def test_the_checkpoint_fails_once_the_tail_of_the_audit_log_is_cut(
    bundle: Path, session: Session, cli: CommandLine
) -> None:
    checkpoint = str(bundle / "audit-checkpoint.json")
    assert cli("export", "check-checkpoint", checkpoint).exit_code == 0
    head = session.execute(select(AuditHead.sequence)).scalar_one()
    kept = head - 3  # the checkpoint's event and the export's are among those cut
    previous = session.scalar(select(AuditEvent.hash).where(AuditEvent.sequence == kept))
    session.execute(delete(AuditEvent).where(AuditEvent.sequence > kept))
    # a consistent-looking log, the head keyed as someone holding the audit key too could: the signed
    # checkpoint still names the cut events
    mac = head_mac(TEST_AUDIT_KEY.encode(), Mark(kept, str(previous)))
    session.execute(update(AuditHead).values(sequence=kept, hash=previous, mac=mac))
    session.commit()
    result = cli("export", "check-checkpoint", checkpoint)
    assert result.exit_code == 1
    assert "missing" in result.stderr
