"""Yearly transcripts end to end: amounts equal `credits show`, the year splits at 1 January and 1 April,
multi-year progress, real PDFs checked with poppler, reruns, verification, reissue and revocation."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pikepdf
import pytest
from sqlalchemy import select

from cme_tracker.config import Settings
from cme_tracker.db import Database
from cme_tracker.document_kinds import KINDS
from cme_tracker.documents.issue import reissue_certificate, revoke_certificate
from cme_tracker.documents.models import Certificate, CertificateStatus, RevocationCategory
from cme_tracker.documents.setup import DocumentSetup
from cme_tracker.job_kinds import JOB_KINDS
from cme_tracker.jobs.service import claim_next_job, run_job, submit_job
from cme_tracker.members.models import Member
from cme_tracker.program.models import Lecture
from cme_tracker.transcripts.issue import ISSUE_TRANSCRIPTS, issue_transcripts
from tests.conftest import CommandLine, DatabaseFactory, migrated_database
from tests.factories import attend
from tests.integration.transcript_data import TranscriptYears, transcript_years

PUBLIC_URL = "https://cme.example.org"
ISSUED = ((2026, "calendar"), (2025, "fiscal"), (2026, "fiscal"))


@dataclass
class World:
    database: Database
    instance: Path
    members: TranscriptYears
    numbers: dict[str, str]
    """Member number by role: physician, dentist, german, latin, bystander."""

    def transcripts(self, year: int, basis: str) -> dict[str, Certificate]:
        """The valid transcripts of a year by member number."""
        with self.database.sessions() as session:
            rows = session.execute(
                select(Member.member_no, Certificate)
                .join(Certificate, Certificate.member_id == Member.id)
                .where(
                    Certificate.year == year,
                    Certificate.year_basis == basis,
                    Certificate.status == CertificateStatus.VALID,
                )
            ).all()
        return {member_no: certificate for member_no, certificate in rows}

    def file(self, certificate: Certificate) -> Path:
        return self.instance / certificate.file_path


@pytest.fixture(scope="module")
def world(database_factory: DatabaseFactory, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    database = migrated_database(database_factory.create("transcripts"))
    instance = tmp_path_factory.mktemp("transcripts") / "instance"
    with database.unit_of_work() as session:
        members = transcript_years(session)
        numbers = {
            role: getattr(members, role).member_no
            for role in ("physician", "dentist", "german", "latin", "bystander")
        }
    setup = DocumentSetup(instance, public_url=PUBLIC_URL)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CME_INSTANCE_PATH", str(instance))
        patch.setenv("CME_PUBLIC_URL", PUBLIC_URL)
        for year, basis in ISSUED:
            issue_transcripts(database, setup, year, basis, actor="test")
        yield World(database, instance, members, numbers)
    database.engine.dispose()


def run(*command: str) -> str:
    return subprocess.run(command, check=True, capture_output=True).stdout.decode()


def credits_show(world: World, member_no: str, year: int, basis: str) -> dict[str, object]:
    result = CommandLine(world.database)(
        "credits", "show", member_no, "--year", str(year), "--year-basis", basis, "--json"
    )
    assert result.exit_code == 0, result.output
    document: dict[str, object] = json.loads(result.output)
    return document


@pytest.mark.parametrize(("year", "basis"), ISSUED)
def test_transcript_totals_equal_credits_show_for_every_member(world: World, year: int, basis: str) -> None:
    transcripts = world.transcripts(year, basis)
    assert world.numbers["bystander"] not in transcripts
    for role in ("physician", "dentist", "german", "latin"):
        member_no = world.numbers[role]
        content = transcripts[member_no].content
        shown = credits_show(world, member_no, year, basis)
        policies = {
            policy["code"]: {
                "version": policy["version"],
                "total": policy["total"],
                "by_field": policy["by_field"],
                **({} if policy["codes"] is None else {"codes": policy["codes"]}),
            }
            for policy in content["policies"]
        }
        assert policies == shown["policies"], role
        assert content["year"]["year"] == year and content["year"]["basis"] == basis


def test_policies_follow_the_holder(world: World) -> None:
    transcripts = world.transcripts(2026, "calendar")
    codes = {
        role: [policy["code"] for policy in transcripts[world.numbers[role]].content["policies"]]
        for role in ("physician", "dentist", "german", "latin")
    }
    assert codes == {
        "physician": ["imsj", "jma"],
        "dentist": ["imsj", "jda"],
        "german": ["imsj", "de-cme"],
        "latin": ["imsj", "jma"],
    }


def _symposia(world: World, role: str, year: int, basis: str) -> list[str]:
    content = world.transcripts(year, basis)[world.numbers[role]].content
    return [symposium["code"] for symposium in content["symposia"]]


def test_fiscal_and_calendar_years_split_attendance_at_1_april_and_1_january(world: World) -> None:
    assert _symposia(world, "physician", 2025, "fiscal") == ["2025-05", "2025-11", "2026-01", "2026-03"]
    assert _symposia(world, "physician", 2026, "fiscal") == ["2026-04", "2026-11"]
    assert _symposia(world, "physician", 2026, "calendar") == ["2026-01", "2026-03", "2026-04", "2026-11"]
    fiscal_2025 = world.transcripts(2025, "fiscal")[world.numbers["physician"]].content["year"]
    assert (fiscal_2025["first_day"], fiscal_2025["last_day"]) == ("2025-04-01", "2026-03-31")


def test_jma_progress_counts_units_and_distinct_codes_over_three_years(world: World) -> None:
    content = world.transcripts(2026, "calendar")[world.numbers["physician"]].content
    (progress,) = content["progress"]
    assert progress["policy"] == "jma" and progress["required_combined"] == "60"
    assert [entry["year"] for entry in progress["years"]] == [2024, 2025, 2026]
    expected_amount = 0.0
    expected_codes: set[str] = set()
    for year in (2024, 2025, 2026):
        shown = credits_show(world, world.numbers["physician"], year, "calendar")["policies"]["jma"]  # type: ignore[index]
        expected_amount += float(shown["total"])
        expected_codes |= set(shown["codes"])
    assert float(progress["amount"]) == expected_amount == 13.0
    assert progress["distinct_codes"] == len(expected_codes) == 10  # 8 is earned in 2024, 2025 and 2026
    assert float(progress["combined"]) == 23.0 and progress["met"] is False
    dentist = world.transcripts(2026, "calendar")[world.numbers["dentist"]].content
    assert dentist["progress"] == []  # JDA-style units define no multi-year requirement here


def test_serials_start_with_t_and_a_rerun_issues_nothing(world: World, tmp_path: Path) -> None:
    serials = [c.serial for c in world.transcripts(2026, "calendar").values()]
    assert serials and all(serial.startswith("T26-") for serial in serials)
    setup = DocumentSetup(world.instance, public_url=PUBLIC_URL)
    again = issue_transcripts(world.database, setup, 2026, "calendar", actor="test")
    assert again.issued == [] and again.total == 1  # only the bystander, who earned nothing, is looked at


def test_the_file_is_signed_pdfa_with_embedded_fonts_names_and_its_data(world: World) -> None:
    certificate = world.transcripts(2026, "calendar")[world.numbers["physician"]]
    path = world.file(certificate)
    signature = run("pdfsig", str(path))
    assert "Signature Validation: Signature is Valid." in signature
    assert "Total document signed" in signature
    fonts = run("pdffonts", str(path)).splitlines()[2:]
    assert fonts and all(line.split()[-5] == "yes" for line in fonts)
    assert any("CJK" in line or "IPAex" in line for line in fonts)
    text = run("pdftotext", str(path), "-")
    assert "髙橋 𠮷郎" in text and "TAKAHASHI Yoshiro" in text
    assert certificate.serial in text and "2026-03 臨床講演" in text and "2026年" in text
    with pikepdf.open(path) as pdf:
        assert pdf.open_metadata().pdfa_status == "3B"
        attached = json.loads(pdf.attachments["certificate.json"].get_file().read_bytes())
    assert attached == certificate.content
    assert attached["format"] == "imsj-cme-transcript/1" and attached["kind"] == "transcript"


def test_a_latin_only_name_is_printed_in_latin(world: World) -> None:
    certificate = world.transcripts(2026, "calendar")[world.numbers["latin"]]
    text = run("pdftotext", str(world.file(certificate)), "-")
    assert "SMITH Anne" in text and "髙橋" not in text
    german = world.transcripts(2026, "calendar")[world.numbers["german"]]
    assert "MÜLLER Łukasz" in run("pdftotext", str(world.file(german)), "-")


@pytest.mark.parametrize("group", ["certificates", "transcripts"])
def test_verify_accepts_the_issued_transcript_and_rejects_a_changed_byte(
    world: World, tmp_path: Path, group: str
) -> None:
    certificate = world.transcripts(2026, "fiscal")[world.numbers["physician"]]
    data = world.file(certificate).read_bytes()
    cli = CommandLine(world.database)
    upload = tmp_path / "upload.pdf"
    upload.write_bytes(data)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CME_INSTANCE_PATH", str(world.instance))
        result = cli(group, "verify", str(upload))
        assert result.exit_code == 0, result.output
        assert f"Certificate {certificate.serial} is valid" in result.output
        forged = bytearray(data)
        position = forged.index(b"/Producer")
        forged[position + 12] ^= 0x01
        upload.write_bytes(bytes(forged))
        result = cli(group, "verify", str(upload))
    assert result.exit_code == 1 and "signature_broken" in result.output


def test_reissue_supersedes_and_revocation_withdraws_a_transcript(db: Database, tmp_path: Path) -> None:
    with db.sessions() as session, session.begin():
        members = transcript_years(session)
        member_no = members.latin.member_no
    setup = DocumentSetup(tmp_path / "instance", public_url=PUBLIC_URL)
    (serial,) = issue_transcripts(db, setup, 2026, "fiscal", actor="test", member_no=member_no).issued
    with db.sessions() as session, session.begin():
        lecture = session.scalars(select(Lecture).where(Lecture.code == "2026-11-L1")).one()
        attend(session, session.merge(members.latin), lecture, "10:00", "11:00")

    successor = reissue_certificate(db, setup, KINDS, serial, actor="test")

    with db.sessions() as session:
        old = session.scalars(select(Certificate).where(Certificate.serial == serial)).one()
        assert old.status == CertificateStatus.SUPERSEDED and old.replaced_by_id == successor.id
        assert successor.kind == "transcript" and successor.revision == 2
        assert successor.content["replaces"] == serial
        assert [s["code"] for s in successor.content["symposia"]] == ["2026-04", "2026-11"]
    with db.sessions() as session, session.begin():
        revoke_certificate(
            session,
            successor.serial,
            category=RevocationCategory.ATTENDANCE_CORRECTED,
            reason="wrong card",
            actor="test",
        )
    again = issue_transcripts(db, setup, 2026, "fiscal", actor="test", member_no=member_no)
    assert len(again.issued) == 1  # a revoked transcript is no obstacle to a correct one


def test_the_issue_command_and_the_job_kind_issue_transcripts(
    db: Database, cli: CommandLine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    instance = tmp_path / "instance"
    monkeypatch.setenv("CME_INSTANCE_PATH", str(instance))
    with db.sessions() as session, session.begin():
        members = transcript_years(session)
    result = cli(
        "transcripts",
        "issue",
        "--year",
        "2025",
        "--year-basis",
        "fiscal",
        "--member",
        members.dentist.member_no,
    )
    assert result.exit_code == 0, result.output
    assert "2025 (fiscal): 1 issued" in result.output
    with db.sessions() as session, session.begin():
        job = submit_job(
            session,
            JOB_KINDS,
            kind=ISSUE_TRANSCRIPTS,
            parameters={"year": 2025, "year_basis": "fiscal"},
            actor="admin",
        )
    job_id = claim_next_job(db)
    assert job_id == job.id
    run_job(db, Settings.from_environment(), job_id, JOB_KINDS)
    with db.sessions() as session:
        finished = session.get(type(job), job_id)
        assert finished is not None and finished.status == "succeeded", finished.errors
        assert finished.summary.startswith("3 issued, 1 without credited attendance")
        assert (
            cli("transcripts", "issue", "--year", "2025", "--year-basis", "fiscal")
            .output.strip()
            .endswith("0 issued, 1 without credited attendance")
        )
