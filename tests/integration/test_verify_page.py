"""The public verification page: by serial and code, by uploaded PDF, as JSON; what it shows and hides."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from io import BytesIO

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from cme_tracker.documents.views import public
from tests.integration.certificate_world import ENGLISH, HOLDER, JAPANESE, World, world
from tests.integration.web_login import csrf_token

__all__ = ["world"]


@pytest.fixture
def app(world: World) -> Flask:
    return world.app()


def _page(client: FlaskClient, world: World, name: str, code: str | None = None) -> str:
    issued = world.issued[name]
    response = client.get(f"/verify/{issued.serial}?c={code or issued.code}", headers=ENGLISH)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    return response.get_data(as_text=True)


def _upload(client: FlaskClient, data: bytes, filename: str = "certificate.pdf") -> TestResponse:
    return client.post(
        "/verify/upload",
        data={"csrf_token": csrf_token(client, "/verify/"), "file": (BytesIO(data), filename)},
        content_type="multipart/form-data",
        headers=ENGLISH,
    )


def _without_own_address(html: str) -> str:
    """The page minus the language switch's links back to it, which carry the URL asked for."""
    return re.sub(r"next=[^\"]*", "", html)


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_valid_certificate_shows_holder_symposium_totals_and_issue_date(
    client: FlaskClient, world: World
) -> None:
    page = _text(_page(client, world, "valid"))
    assert "This certificate is valid" in page
    assert "髙橋 花子" in page and "TAKAHASHI Hanako" in page
    assert "May CME Symposium" in page and "16 May 2026" in page
    assert "IMSJ" in page and "2.5" in page
    assert world.issued["valid"].serial in page


def test_the_page_never_shows_member_number_registry_numbers_or_email(
    client: FlaskClient, world: World
) -> None:
    for name in ("valid", "revoked", "superseded"):
        page = _page(client, world, name)
        assert world.issued[name].member_no not in page
        assert HOLDER["medical_registry_no"] not in page
        assert HOLDER["email"] not in page
        assert "@" not in _text(page)


def test_revoked_certificate_shows_date_and_category_but_not_the_reason(
    client: FlaskClient, world: World
) -> None:
    page = _text(_page(client, world, "revoked"))
    assert "This certificate has been revoked" in page
    assert "Attendance record corrected" in page
    assert re.search(r"withdrew it on \d{1,2} \w+ 20\d\d", page)
    assert "wrong desk" not in page


def test_superseded_certificate_names_its_successor_without_linking_to_it(
    client: FlaskClient, world: World
) -> None:
    assert world.successor is not None
    html = _page(client, world, "superseded")
    assert "This certificate has been replaced" in _text(html)
    assert world.successor.serial in html
    assert world.successor.code not in html
    assert f"/verify/{world.successor.serial}" not in html


def test_wrong_code_and_unknown_serial_get_the_very_same_answer(client: FlaskClient, world: World) -> None:
    wrong_code = _page(client, world, "valid", code="0000000000000000")
    unknown = client.get(f"/verify/A26-ZZZZ-ZZZZ?c={world.issued['valid'].code}", headers=ENGLISH)
    assert "No certificate matches" in _text(wrong_code)
    assert unknown.status_code == 200
    assert _without_own_address(unknown.get_data(as_text=True)) == _without_own_address(wrong_code)
    assert HOLDER["family_name"] not in wrong_code


def test_code_typed_from_paper_in_lower_case_with_dashes_is_accepted(
    client: FlaskClient, world: World
) -> None:
    code = world.issued["valid"].code.lower()
    page = _page(client, world, "valid", code=f"{code[:4]}-{code[4:8]}-{code[8:]}")
    assert "This certificate is valid" in _text(page)


def test_page_speaks_japanese_by_default(client: FlaskClient, world: World) -> None:
    issued = world.issued["valid"]
    page = client.get(f"/verify/{issued.serial}?c={issued.code}", headers=JAPANESE).get_data(as_text=True)
    assert "この証明書は有効です" in page


def test_form_sends_the_typed_serial_and_code_to_the_certificate_page(
    client: FlaskClient, world: World
) -> None:
    assert client.get("/verify/").status_code == 200
    issued = world.issued["valid"]
    response = client.get(f"/verify/?serial={issued.serial.lower()}&c={issued.code}")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/verify/{issued.serial}?c={issued.code}"
    assert client.get("/verify/?serial=&c=", headers=ENGLISH).status_code == 422


def test_json_variant_answers_scripts_with_the_same_verdict(client: FlaskClient, world: World) -> None:
    issued = world.issued["revoked"]
    body = client.get(f"/verify/{issued.serial}.json?c={issued.code}").get_json()
    assert body["valid"] is False and body["verdict"] == "revoked"
    assert body["certificate"]["revocation_category"] == "attendance_corrected"
    assert "member_no" not in body["certificate"]
    unknown = client.get(f"/verify/{issued.serial}.json?c=WRONG").get_json()
    assert unknown == {**unknown, "valid": False, "verdict": "unknown", "certificate": None}


def test_uploaded_genuine_file_is_valid(client: FlaskClient, world: World) -> None:
    response = _upload(client, world.pdf("valid"))
    assert response.status_code == 200
    page = _text(response.get_data(as_text=True))
    assert "This certificate is valid" in page
    assert "The file is the one issued" in page


def test_uploaded_superseded_file_is_not_valid_and_names_the_successor(
    client: FlaskClient, world: World
) -> None:
    assert world.successor is not None
    page = _text(_upload(client, world.pdf("superseded")).get_data(as_text=True))
    assert "This certificate has been replaced" in page
    assert world.successor.serial in page


def test_uploaded_file_with_one_byte_changed_is_refused_naming_the_failed_check(
    client: FlaskClient, world: World
) -> None:
    data = bytearray(world.pdf("valid"))
    middle = len(data) // 2
    data[middle] ^= 0x01
    response = _upload(client, bytes(data))
    assert response.status_code == 200
    page = _text(response.get_data(as_text=True))
    assert "This certificate is valid" not in page
    assert "The signature does not match the content" in page
    assert "signature_broken" in page


def test_uploaded_file_with_text_appended_after_signing_is_refused(client: FlaskClient, world: World) -> None:
    forged = world.pdf("valid") + b"\n% an incremental update would go here\n"
    page = _text(_upload(client, forged).get_data(as_text=True))
    assert "This certificate is valid" not in page
    assert "modified_after_signing" in page


def test_uploading_something_that_is_not_a_pdf_is_a_clear_error(client: FlaskClient, world: World) -> None:
    response = _upload(client, "出席証明書ではありません".encode(), "notes.txt")
    assert response.status_code == 422
    assert "This is not a PDF file" in response.get_data(as_text=True)


def test_upload_without_a_file_asks_for_one(client: FlaskClient, world: World) -> None:
    response = client.post(
        "/verify/upload", data={"csrf_token": csrf_token(client, "/verify/")}, headers=ENGLISH
    )
    assert response.status_code == 422
    assert "Choose the PDF file of the certificate." in response.get_data(as_text=True)


def test_upload_larger_than_ten_megabytes_is_refused_before_it_is_read(
    client: FlaskClient, world: World
) -> None:
    # A raw body: the test client would spool a multipart one to a file the early refusal leaves open.
    response = client.post(
        "/verify/upload",
        data=b"%PDF-1.7\n" + b"0" * (public.MAX_UPLOAD_BYTES + 100_000),
        content_type="multipart/form-data; boundary=x",
        headers=ENGLISH,
    )
    assert response.status_code == 413
    assert "larger than 10 MB" in response.get_data(as_text=True)


def test_upload_without_csrf_token_is_refused(client: FlaskClient, world: World) -> None:
    response = client.post(
        "/verify/upload",
        data={"file": (BytesIO(world.pdf("valid")), "certificate.pdf")},
        content_type="multipart/form-data",
        headers=ENGLISH,
    )
    assert response.status_code == 400
    assert "This certificate is valid" not in response.get_data(as_text=True)


def test_lookups_and_uploads_are_limited_per_client_address(world: World) -> None:
    app = world.app(CLOCK=lambda: datetime(2026, 5, 20, 9, 0, 30, tzinfo=UTC))
    del app.config["VERIFY_LOOKUPS_PER_MINUTE"], app.config["VERIFY_UPLOADS_PER_MINUTE"]
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = "203.0.113.9"
    issued = world.issued["valid"]
    answers = [client.get(f"/verify/{issued.serial}?c={issued.code}").status_code for _ in range(30)]
    assert set(answers) == {200}
    refused = client.get(f"/verify/{issued.serial}?c={issued.code}", headers=ENGLISH)
    assert refused.status_code == 429
    assert "Please wait a minute" in refused.get_data(as_text=True)
    assert int(refused.headers["Retry-After"]) <= 60
    assert client.get(f"/verify/{issued.serial}.json?c={issued.code}").status_code == 429
    uploads = [_upload(client, b"not a pdf").status_code for _ in range(10)]
    assert set(uploads) == {422}
    assert _upload(client, world.pdf("valid")).status_code == 429
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "203.0.113.10"
    assert other.get(f"/verify/{issued.serial}?c={issued.code}").status_code == 200
