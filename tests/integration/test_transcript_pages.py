"""Transcripts on the web: a member requests their own, the office queues a year's as a job."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from cme_tracker.vocabulary import Role
from tests.conftest import CommandLine
from tests.integration.certificate_world import ENGLISH, PUBLIC_URL, World, world
from tests.integration.web_login import csrf_token, log_in

__all__ = ["world"]


@pytest.fixture
def app(world: World) -> Flask:
    return world.app(JOB_LAUNCHER=lambda settings: None)


def flashes(page: str) -> list[str]:
    return [
        re.sub(r"\s+", " ", text).strip()
        for text in re.findall(r'<li class="message[^"]*"[^>]*>(.*?)</li>', page)
    ]


def test_a_member_requests_their_transcript_once_and_finds_it_in_their_list(
    client: FlaskClient, world: World
) -> None:
    log_in(client, world.login(Role.MEMBER, member_no=world.issued["other"].member_no))
    page = client.get("/me/certificates", headers=ENGLISH).get_data(as_text=True)
    assert "Request my transcript" in page and '<option value="2026">2026</option>' in page

    token = csrf_token(client, "/me/certificates")
    answer = client.post(
        "/me/certificates/transcript",
        data={"csrf_token": token, "year": "2026", "basis": "calendar"},
        headers=ENGLISH,
        follow_redirects=True,
    ).get_data(as_text=True)

    (message,) = flashes(answer)
    serial = re.search(r"Your transcript (T26-\w{4}-\w{4}) has been issued", message)
    assert serial is not None
    assert f'href="/me/certificates/{serial.group(1)}.pdf"' in answer and "Transcript 2026" in answer
    again = client.post(
        "/me/certificates/transcript",
        data={"csrf_token": token, "year": "2026", "basis": "calendar"},
        headers=ENGLISH,
        follow_redirects=True,
    ).get_data(as_text=True)
    assert flashes(again) == ["You already hold a valid transcript of that year; it is in the list below."]


def test_a_member_cannot_ask_for_a_year_they_did_not_attend(client: FlaskClient, world: World) -> None:
    log_in(client, world.login(Role.MEMBER, member_no=world.issued["valid"].member_no))
    answer = client.post(
        "/me/certificates/transcript",
        data={"csrf_token": csrf_token(client, "/me/certificates"), "year": "2019", "basis": "calendar"},
        headers=ENGLISH,
        follow_redirects=True,
    ).get_data(as_text=True)
    assert flashes(answer) == ["Choose one of the years you attended."]


def test_the_office_queues_a_years_transcripts_and_the_worker_issues_them(
    client: FlaskClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    log_in(client, world.login(Role.ADMIN))
    response = client.post(
        "/admin/certificates/transcripts/issue",
        data={"csrf_token": csrf_token(client, "/admin/certificates/"), "year": "2026", "basis": "fiscal"},
    )
    assert response.status_code == 303
    job_id = int(response.headers["Location"].rsplit("/", 1)[1])
    assert client.get(f"/admin/jobs/{job_id}.json").get_json()["parameters"] == {
        "year": 2026,
        "year_basis": "fiscal",
    }

    monkeypatch.setenv("CME_INSTANCE_PATH", str(world.instance))
    monkeypatch.setenv("CME_PUBLIC_URL", PUBLIC_URL)
    assert CommandLine(world.database)("worker", "--once", "--processes", "1").exit_code == 0

    finished = client.get(f"/admin/jobs/{job_id}.json").get_json()
    assert finished["status"] == "succeeded"
    assert finished["summary"].startswith("9 issued")
