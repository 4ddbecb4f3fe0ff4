"""The member's certificate pages and the office's: list, download, issue as a job, reissue, revoke, ZIP."""

from __future__ import annotations

import re
import zipfile
from io import BytesIO
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from cme_tracker.audit.models import AuditEvent
from cme_tracker.cli import main
from cme_tracker.documents.models import Certificate
from cme_tracker.jobs.models import Job
from cme_tracker.program.models import Symposium
from cme_tracker.vocabulary import Role
from tests.conftest import CommandLine
from tests.integration.certificate_world import (
    ENGLISH,
    PUBLIC_URL,
    SYMPOSIUM,
    UNISSUED_SYMPOSIUM,
    World,
    sha256,
    world,
)
from tests.integration.web_login import csrf_token, log_in

__all__ = ["world"]


class Launcher:
    """Stands in for ``launch_worker``: records the calls; the test runs the worker itself."""

    def __init__(self) -> None:
        self.calls: list[Any] = []

    def __call__(self, settings: Any) -> None:
        self.calls.append(settings)


@pytest.fixture
def launcher() -> Launcher:
    return Launcher()


@pytest.fixture
def app(world: World, launcher: Launcher) -> Flask:
    return world.app(JOB_LAUNCHER=launcher)


@pytest.fixture
def admin(client: FlaskClient, world: World) -> FlaskClient:
    log_in(client, world.login(Role.ADMIN))
    return client


def _post(client: FlaskClient, path: str, data: dict[str, str] | None = None) -> TestResponse:
    return client.post(path, data={"csrf_token": csrf_token(client, "/"), **(data or {})}, headers=ENGLISH)


def _status(world: World, serial: str) -> tuple[str, str | None, str | None]:
    certificate = world.certificate(serial)
    return certificate.status, certificate.revocation_category, certificate.revocation_reason


def _audit_events(world: World) -> int:
    with world.database.sessions() as session:
        return session.scalar(select(func.count()).select_from(AuditEvent)) or 0


def _flashes(page: str) -> list[str]:
    return [
        re.sub(r"\s+", " ", text).strip()
        for text in re.findall(r'<li class="message[^"]*"[^>]*>(.*?)</li>', page)
    ]


# The member's pages


def test_member_lists_their_own_certificates_only(client: FlaskClient, world: World) -> None:
    assert world.successor is not None
    log_in(client, world.login(Role.MEMBER, member_no=world.issued["superseded"].member_no))
    page = client.get("/me/certificates", headers=ENGLISH).get_data(as_text=True)
    assert world.issued["superseded"].serial in page and world.successor.serial in page
    assert f"Replaced by {world.successor.serial}" in page
    assert world.issued["valid"].serial not in page
    assert f'href="/me/certificates/{world.successor.serial}.pdf"' in page
    assert f'href="/me/certificates/{world.issued["superseded"].serial}.pdf"' not in page
    assert 'href="/me/certificates"' in page, "the navigation links the page"


def test_member_downloads_their_own_valid_certificate_as_issued(client: FlaskClient, world: World) -> None:
    issued = world.issued["valid"]
    log_in(client, world.login(Role.MEMBER, member_no=issued.member_no))
    response = client.get(f"/me/certificates/{issued.serial}.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert f"{issued.serial}.pdf" in response.headers["Content-Disposition"]
    assert "no-store" in response.headers["Cache-Control"]
    assert sha256(response.get_data()) == issued.sha256


def test_member_gets_404_for_certificates_of_others_and_replaced_ones(
    client: FlaskClient, world: World
) -> None:
    log_in(client, world.login(Role.MEMBER, member_no=world.issued["superseded"].member_no))
    assert client.get(f"/me/certificates/{world.issued['other'].serial}.pdf").status_code == 404
    assert client.get(f"/me/certificates/{world.issued['superseded'].serial}.pdf").status_code == 404
    assert client.get("/me/certificates/A26-ZZZZ-ZZZZ.pdf").status_code == 404


def test_office_pages_are_for_admins_only(client: FlaskClient, world: World) -> None:
    issued = world.issued["valid"]
    paths = (
        "/admin/certificates/",
        f"/admin/certificates/{SYMPOSIUM}",
        f"/admin/certificates/{SYMPOSIUM}.zip",
        f"/admin/certificates/{SYMPOSIUM}/{issued.serial}.pdf",
        f"/admin/certificates/{SYMPOSIUM}/{issued.serial}/revoke",
    )
    assert all(client.get(path).status_code == 302 for path in paths), "anonymous: to the login page"
    for login in (world.login(Role.DESK, Role.AUDITOR), world.login(Role.MEMBER, member_no=issued.member_no)):
        log_in(client, login)
        assert [client.get(path).status_code for path in paths] == [403] * len(paths)
        assert _post(client, f"/admin/certificates/{SYMPOSIUM}/issue").status_code == 403


# The office's pages


def test_overview_counts_attendees_and_certificates_per_symposium(admin: FlaskClient, world: World) -> None:
    page = admin.get("/admin/certificates/", headers=ENGLISH).get_data(as_text=True)
    row = page.split(f'href="/admin/certificates/{SYMPOSIUM}"', 1)[1].split("</tr>", 1)[0]
    with world.database.sessions() as session:
        symposium_id = session.scalar(select(Symposium.id).where(Symposium.code == SYMPOSIUM))
        counts = {
            status: session.scalar(
                select(func.count())
                .select_from(Certificate)
                .where(Certificate.symposium_id == symposium_id, Certificate.status == status)
            )
            for status in ("valid", "superseded", "revoked")
        }
    figures = re.findall(r'<td class="number">(\d+)</td>', row)
    assert figures == ["7", str(counts["valid"]), str(counts["superseded"]), str(counts["revoked"])]
    assert "Issue missing certificates" in page


def test_issue_button_queues_a_job_that_the_worker_runs_to_the_end(
    admin: FlaskClient, world: World, launcher: Launcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    response = _post(admin, f"/admin/certificates/{UNISSUED_SYMPOSIUM}/issue")
    assert response.status_code == 303
    job_id = int(response.headers["Location"].rsplit("/", 1)[1])
    assert len(launcher.calls) == 1 and launcher.calls[0].instance_path == world.instance
    queued = admin.get(f"/admin/jobs/{job_id}.json").get_json()
    assert (queued["status"], queued["finished"], queued["parameters"]) == (
        "queued",
        False,
        {"symposium_code": UNISSUED_SYMPOSIUM},
    )
    page = admin.get(f"/admin/jobs/{job_id}", headers=ENGLISH).get_data(as_text=True)
    assert "<progress" in page and 'http-equiv="refresh"' in page and "job-progress.js" in page

    monkeypatch.setenv("CME_INSTANCE_PATH", str(world.instance))
    monkeypatch.setenv("CME_PUBLIC_URL", PUBLIC_URL)
    result = CommandLine(world.database)("worker", "--once", "--processes", "1")
    assert result.exit_code == 0, result.output

    finished = admin.get(f"/admin/jobs/{job_id}.json").get_json()
    assert (finished["status"], finished["finished"]) == ("succeeded", True)
    assert (finished["done"], finished["total"]) == (2, 2)
    assert finished["summary"] == "2 issued" and finished["errors"] == []
    page = admin.get(f"/admin/jobs/{job_id}", headers=ENGLISH).get_data(as_text=True)
    assert 'http-equiv="refresh"' not in page
    overview = admin.get("/admin/certificates/", headers=ENGLISH).get_data(as_text=True)
    assert f'href="/admin/jobs/{job_id}"' in overview


def test_symposium_page_lists_its_certificates_with_their_actions(admin: FlaskClient, world: World) -> None:
    assert world.successor is not None
    page = admin.get(f"/admin/certificates/{SYMPOSIUM}", headers=ENGLISH).get_data(as_text=True)
    for name in ("valid", "revoked", "superseded"):
        assert world.issued[name].serial in page
        assert world.issued[name].member_no in page
    assert "髙橋 花子" in page
    superseded_row = page.split(world.issued["superseded"].serial, 1)[1].split("</tr>", 1)[0]
    assert world.successor.serial in superseded_row and "Reissue" not in superseded_row
    valid_row = page.split(world.issued["valid"].serial, 1)[1].split("</tr>", 1)[0]
    assert "Reissue" in valid_row and "Revoke" in valid_row


def test_admin_downloads_any_certificate_of_the_symposium(admin: FlaskClient, world: World) -> None:
    issued = world.issued["revoked"]
    response = admin.get(f"/admin/certificates/{SYMPOSIUM}/{issued.serial}.pdf")
    assert response.status_code == 200 and sha256(response.get_data()) == issued.sha256
    assert admin.get(f"/admin/certificates/{UNISSUED_SYMPOSIUM}/{issued.serial}.pdf").status_code == 404


def test_zip_holds_exactly_the_valid_certificates_each_as_issued(admin: FlaskClient, world: World) -> None:
    response = admin.get(f"/admin/certificates/{SYMPOSIUM}.zip")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    archive = response.get_data()
    response.close()
    with world.database.sessions() as session:
        valid = {
            f"{certificate.serial}.pdf": certificate.sha256
            for certificate in session.scalars(
                select(Certificate)
                .join(Symposium, Certificate.symposium_id == Symposium.id)
                .where(Symposium.code == SYMPOSIUM, Certificate.status == "valid")
            )
        }
    with zipfile.ZipFile(BytesIO(archive)) as bundle:
        assert sorted(bundle.namelist()) == sorted(valid)
        assert {name: sha256(bundle.read(name)) for name in bundle.namelist()} == valid
    assert f"{world.issued['revoked'].serial}.pdf" not in valid
    assert f"{world.issued['superseded'].serial}.pdf" not in valid


def test_reissue_supersedes_the_certificate_and_flashes_the_new_serial(
    admin: FlaskClient, world: World
) -> None:
    old = world.issued["to_reissue"]
    response = _post(admin, f"/admin/certificates/{SYMPOSIUM}/{old.serial}/reissue")
    assert response.status_code == 303
    page = admin.get(response.headers["Location"], headers=ENGLISH).get_data(as_text=True)
    superseded = world.certificate(old.serial)
    assert superseded.status == "superseded" and superseded.replaced_by_id is not None
    with world.database.sessions() as session:
        successor = session.get(Certificate, superseded.replaced_by_id)
        assert successor is not None and successor.status == "valid"
        assert successor.content["replaces"] == old.serial
    flashed = f"Certificate {old.serial} is superseded by the new certificate {successor.serial}."
    assert flashed in _flashes(page)
    again = _post(admin, f"/admin/certificates/{SYMPOSIUM}/{old.serial}/reissue")
    page = admin.get(again.headers["Location"], headers=ENGLISH).get_data(as_text=True)
    assert "Only a valid certificate can be reissued or revoked." in _flashes(page)


def test_revoke_needs_a_reason_and_changes_nothing_without_one(admin: FlaskClient, world: World) -> None:
    issued = world.issued["to_refuse"]
    events = _audit_events(world)
    path = f"/admin/certificates/{SYMPOSIUM}/{issued.serial}/revoke"
    assert admin.get(path, headers=ENGLISH).status_code == 200
    response = _post(admin, path, {"category": "misconduct", "reason": "   "})
    assert response.status_code == 422
    assert "Give the reason for the revocation." in response.get_data(as_text=True)
    assert _status(world, issued.serial) == ("valid", None, None)
    assert _audit_events(world) == events


def test_revoke_with_category_and_reason_shows_on_the_verify_page(admin: FlaskClient, world: World) -> None:
    issued = world.issued["to_revoke"]
    path = f"/admin/certificates/{SYMPOSIUM}/{issued.serial}/revoke"
    response = _post(admin, path, {"category": "issued_in_error", "reason": "duplicate registration"})
    assert response.status_code == 303
    page = admin.get(response.headers["Location"], headers=ENGLISH).get_data(as_text=True)
    assert f"Certificate {issued.serial} is revoked." in _flashes(page)
    assert _status(world, issued.serial) == ("revoked", "issued_in_error", "duplicate registration")
    verify = admin.get(f"/verify/{issued.serial}?c={issued.code}", headers=ENGLISH).get_data(as_text=True)
    assert "Issued in error" in verify and "duplicate registration" not in verify
    again = _post(admin, path, {"category": "other", "reason": "twice"})
    page = admin.get(again.headers["Location"], headers=ENGLISH).get_data(as_text=True)
    assert "Only a valid certificate can be reissued or revoked." in _flashes(page)
    assert _status(world, issued.serial) == ("revoked", "issued_in_error", "duplicate registration")


def test_post_without_csrf_token_is_refused_and_changes_nothing(
    admin: FlaskClient, world: World, launcher: Launcher
) -> None:
    issued = world.issued["to_refuse"]
    with world.database.sessions() as session:
        jobs = session.scalar(select(func.count()).select_from(Job))
    revoke = admin.post(
        f"/admin/certificates/{SYMPOSIUM}/{issued.serial}/revoke",
        data={"category": "other", "reason": "no token"},
    )
    issue = admin.post(f"/admin/certificates/{SYMPOSIUM}/issue")
    reissue = admin.post(f"/admin/certificates/{SYMPOSIUM}/{issued.serial}/reissue")
    assert revoke.status_code == issue.status_code == reissue.status_code == 400
    assert _status(world, issued.serial) == ("valid", None, None)
    with world.database.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Job)) == jobs
    assert launcher.calls == []


def test_unknown_symposium_or_job_is_404(admin: FlaskClient) -> None:
    assert admin.get("/admin/certificates/1999-01").status_code == 404
    assert admin.get("/admin/certificates/1999-01.zip").status_code == 404
    assert _post(admin, "/admin/certificates/1999-01/issue").status_code == 404
    assert admin.get("/admin/jobs/999999").status_code == 404
    assert admin.get("/admin/jobs/999999.json").status_code == 404


def test_a_certificate_whose_file_is_missing_answers_410_on_every_download(app: Flask, world: World) -> None:
    issued = world.issued["valid"]
    checked = CliRunner().invoke(
        main, ["certificates", "check"], obj=world.database, env={"CME_INSTANCE_PATH": str(world.instance)}
    )
    assert checked.exit_code == 0 and "0 file(s) missing" in checked.output
    pdf = world.instance / issued.file_path
    kept = pdf.read_bytes()
    pdf.unlink()
    checked = CliRunner().invoke(
        main, ["certificates", "check"], obj=world.database, env={"CME_INSTANCE_PATH": str(world.instance)}
    )
    assert checked.exit_code == 1
    assert f"missing {issued.serial} {issued.file_path}" in checked.output
    member, admin = app.test_client(), app.test_client()
    log_in(member, world.login(Role.MEMBER, member_no=issued.member_no))
    log_in(admin, world.login(Role.ADMIN))
    for client, path in (
        (member, f"/me/certificates/{issued.serial}.pdf"),
        (admin, f"/admin/certificates/{SYMPOSIUM}/{issued.serial}.pdf"),
        (admin, f"/admin/certificates/{SYMPOSIUM}.zip"),
    ):
        response = client.get(path)
        assert response.status_code == 410, path
        assert issued.serial in response.get_data(as_text=True), path
    pdf.write_bytes(kept)
