"""GET /api/v1/certificates/{serial}: who may read a certificate, and what the answer holds."""

from __future__ import annotations

import uuid

import pytest
from flask import Flask
from flask.testing import FlaskClient

from cme_tracker.accounts.tokens import create_client
from cme_tracker.vocabulary import Role
from tests.integration.certificate_world import World, world
from tests.integration.web_login import log_in

__all__ = ["world"]


@pytest.fixture
def app(world: World) -> Flask:
    return world.app()


def _token(world: World, role: Role) -> dict[str, str]:
    with world.database.sessions() as session:
        _client, token = create_client(
            session, name=f"{role}-{uuid.uuid4().hex[:8]}", role=role, actor="test"
        )
        session.commit()
    return {"Authorization": f"Bearer {token}"}


def _get(client: FlaskClient, world: World, name: str, headers: dict[str, str] | None = None) -> int:
    return client.get(f"/api/v1/certificates/{world.issued[name].serial}", headers=headers or {}).status_code


@pytest.mark.parametrize("role", [Role.ADMIN, Role.AUDITOR])
def test_admins_and_auditors_read_any_certificate_with_their_session(
    client: FlaskClient, world: World, role: Role
) -> None:
    log_in(client, world.login(role))
    assert _get(client, world, "valid") == 200
    assert _get(client, world, "revoked") == 200


def test_auditor_token_reads_any_certificate_and_desk_token_may_not(
    client: FlaskClient, world: World
) -> None:
    assert _get(client, world, "valid", _token(world, Role.AUDITOR)) == 200
    assert _get(client, world, "valid", _token(world, Role.DESK)) == 403


def test_desk_session_may_not_read_certificates(client: FlaskClient, world: World) -> None:
    log_in(client, world.login(Role.DESK))
    assert _get(client, world, "valid") == 403


def test_without_session_or_token_the_answer_is_401(client: FlaskClient, world: World) -> None:
    response = client.get(f"/api/v1/certificates/{world.issued['valid'].serial}")
    assert response.status_code == 401
    assert response.get_json()["error"] == "unauthorized"
    assert _get(client, world, "valid", {"Authorization": "Bearer not-a-token"}) == 401


def test_member_reads_their_own_certificate_and_nobody_elses(client: FlaskClient, world: World) -> None:
    log_in(client, world.login(Role.MEMBER, member_no=world.issued["valid"].member_no))
    assert _get(client, world, "valid") == 200
    others = client.get(f"/api/v1/certificates/{world.issued['other'].serial}")
    unknown = client.get("/api/v1/certificates/A26-ZZZZ-ZZZZ")
    assert others.status_code == unknown.status_code == 404
    assert others.get_json()["error"] == unknown.get_json()["error"] == "unknown_certificate"


def test_answer_holds_status_holder_totals_and_the_lectures_certified(
    client: FlaskClient, world: World
) -> None:
    log_in(client, world.login(Role.AUDITOR))
    body = client.get(f"/api/v1/certificates/{world.issued['valid'].serial}").get_json()
    assert body["status"] == "valid" and body["replaced_by"] is None
    assert (body["holder_name"], body["holder_name_romaji"]) == ("髙橋 花子", "TAKAHASHI Hanako")
    assert body["member_no"] == world.issued["valid"].member_no
    assert body["symposium_code"] == "2026-05"
    assert [lecture["code"] for lecture in body["lectures"]] == ["2026-05-L1", "2026-05-L2"]
    assert [lecture["minutes"] for lecture in body["lectures"]] == [60, 90]
    imsj = next(total for total in body["totals"] if total["label"].startswith("IMSJ"))
    assert imsj["total"] == "2.5"
    assert "verification_code" not in body


def test_superseded_and_revoked_certificates_say_so(client: FlaskClient, world: World) -> None:
    assert world.successor is not None
    log_in(client, world.login(Role.ADMIN))
    superseded = client.get(f"/api/v1/certificates/{world.issued['superseded'].serial}").get_json()
    assert (superseded["status"], superseded["replaced_by"]) == ("superseded", world.successor.serial)
    revoked = client.get(f"/api/v1/certificates/{world.issued['revoked'].serial}").get_json()
    assert (revoked["status"], revoked["revocation_category"]) == ("revoked", "attendance_corrected")
    assert revoked["revoked_at"] is not None


def test_openapi_document_describes_the_certificate_operation(client: FlaskClient, world: World) -> None:
    document = client.get("/api/v1/openapi.json").get_json()
    operation = document["paths"]["/api/v1/certificates/{serial}"]["get"]
    assert operation["x-roles"] == ["admin", "auditor", "member"]
    assert operation["x-api-client-roles"] == ["admin", "auditor"]
    assert "Certificate" in document["components"]["schemas"]
