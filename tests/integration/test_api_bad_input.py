"""Bad check-ins get their documented status and a JSON error, never a 500, and write nothing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from cme_tracker.accounts.tokens import revoke_client
from cme_tracker.members.cards import card_payload, issue_new_card
from cme_tracker.vocabulary import Role, SymposiumStatus
from tests.factories import make_lecture, make_symposium
from tests.integration.checkin_data import (
    DAY,
    SECRET,
    Clock,
    Day,
    api_token,
    bearer,
    logged_in,
    row_counts,
)


@dataclass
class Desk:
    """The data of a symposium morning at 11:00, and the tokens of a desk, an auditor and a revoked desk."""

    day: Day
    tokens: dict[str, str]


@pytest.fixture
def desk(session: Session, day: Day, clock: Clock) -> Desk:
    closed = make_symposium(session, "2026-05-TA", DAY, status=SymposiumStatus.CLOSED)
    make_lecture(session, closed, "10:00", "12:00")
    tokens = {
        "desk": api_token(session, "desk-1", Role.DESK),
        "auditor": api_token(session, "auditor-1", Role.AUDITOR),
        "revoked": api_token(session, "desk-old", Role.DESK),
    }
    revoke_client(session, name="desk-old", actor="test")
    session.commit()
    clock.at("11:00")
    return Desk(day, tokens)


def body(**fields: Any) -> Callable[[Day], Any]:
    """A valid check-in of member 001001 into lecture L2 (10:45-12:15), changed by ``fields``."""

    def build(_day: Day) -> Any:
        values: dict[str, Any] = {"member_no": "001001", "lecture_code": "2026-05-L2", "direction": "in"}
        values.update(fields)
        return {key: value for key, value in values.items() if value is not ...}

    return build


def card(make: Callable[[Day], str], **fields: Any) -> Callable[[Day], Any]:
    return lambda day: {**body(member_no=...)(day), "card": make(day), **fields}


def genuine(day: Day) -> str:
    return card_payload(SECRET, day.members[0])


def raw(text: str) -> Callable[[Day], Any]:
    return lambda _day: text.encode()


@dataclass(frozen=True)
class Case:
    token: str | None
    payload: Callable[[Day], Any]
    status: int
    code: str
    field: str | None = None


CASES = {
    "no token": Case(None, body(), 401, "unauthorized"),
    "unknown token": Case("not-a-token", body(), 401, "unauthorized"),
    "empty bearer": Case("", body(), 401, "unauthorized"),
    "revoked token": Case("revoked", body(), 401, "unauthorized"),
    "auditor token": Case("auditor", body(), 403, "forbidden"),
    "malformed JSON": Case("desk", raw('{"member_no": "001001", '), 422, "invalid", "body"),
    "JSON array": Case("desk", raw('[{"member_no": "001001"}]'), 422, "invalid", "body"),
    "JSON string": Case("desk", raw('"IMSJ-001001"'), 422, "invalid", "body"),
    "empty body": Case("desk", raw(""), 422, "invalid", "body"),
    "missing direction": Case("desk", body(direction=...), 422, "invalid", "direction"),
    "unknown direction": Case("desk", body(direction="sideways"), 422, "invalid", "direction"),
    "no member": Case("desk", body(member_no=...), 422, "invalid", "card"),
    "card and number": Case("desk", card(genuine, member_no="001001"), 422, "invalid", "member_no"),
    "no target": Case("desk", body(lecture_code=...), 422, "invalid", "lecture_code"),
    "unknown field": Case("desk", body(lecture="2026-05-L2"), 422, "invalid", "lecture"),
    "number as member number": Case("desk", body(member_no=1001), 422, "invalid", "member_no"),
    "member number with spaces": Case("desk", body(member_no="001 001"), 422, "invalid", "member_no"),
    "bad lecture code": Case("desk", body(lecture_code="L2; DROP TABLE"), 422, "invalid", "lecture_code"),
    "bad scan time": Case("desk", body(scanned_at="yesterday"), 422, "invalid", "scanned_at"),
    "scan time as number": Case("desk", body(scanned_at=1778896800), 422, "invalid", "scanned_at"),
    "long nonce": Case("desk", body(nonce="n" * 101), 422, "invalid", "nonce"),
    "unknown method": Case("desk", body(method="telepathy"), 422, "invalid", "method"),
    "scan time in the future": Case("desk", body(scanned_at="2026-05-16T11:30:00+09:00"), 422, "invalid"),
    "unknown member": Case("desk", body(member_no="999999"), 404, "unknown_member"),
    "unknown lecture": Case("desk", body(lecture_code="2026-05-L9"), 404, "unknown_lecture"),
    "unknown symposium": Case(
        "desk", body(lecture_code=..., symposium_code="2026-09"), 404, "unknown_symposium"
    ),
    "not a card": Case("desk", card(lambda _day: "hello"), 404, "unknown_card"),
    "typed-in card": Case("desk", card(lambda _day: "IMSJ-001001-1"), 404, "unknown_card"),
    "forged card": Case("desk", card(lambda _day: "IMSJ-001001-1-ABCDEFGHIJKLMNOP"), 404, "unknown_card"),
    "tampered card": Case(
        "desk", card(lambda day: genuine(day).replace("-001001-", "-001002-")), 404, "unknown_card"
    ),
    "card of an unknown member": Case(
        "desk", card(lambda day: genuine(day).replace("-001001-", "-009999-")), 404, "unknown_card"
    ),
    "closed symposium": Case("desk", body(lecture_code="2026-05-TA-L1"), 409, "symposium_closed"),
    "lecture of another symposium": Case(
        "desk", body(lecture_code="2026-07-L1", symposium_code="2026-05"), 422, "lecture_not_in_symposium"
    ),
    "scan on another date": Case("desk", body(scanned_at="2026-05-15T11:00:00+09:00"), 409, "not_open"),
    "lecture over": Case("desk", body(lecture_code="2026-05-L1"), 409, "lecture_over"),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_bad_check_in_gets_its_status_and_json_error_and_writes_nothing(
    client: FlaskClient, session: Session, desk: Desk, case: Case
) -> None:
    before = row_counts(session)
    payload = case.payload(desk.day)
    headers = {} if case.token is None else bearer(desk.tokens.get(case.token, case.token))
    if isinstance(payload, bytes):
        headers["Content-Type"] = "application/json"
        response = client.post("/api/v1/checkins", data=payload, headers=headers)
    else:
        response = client.post("/api/v1/checkins", json=payload, headers=headers)
    assert response.status_code == case.status, response.get_data(as_text=True)
    assert response.is_json
    error = response.get_json()
    assert set(error) == {"error", "message", "details"}
    assert error["error"] == case.code
    assert error["message"]
    if case.field is not None:
        assert case.field in error["details"], error["details"]
    assert row_counts(session) == before


def test_replaced_card_is_refused_as_replaced(client: FlaskClient, session: Session, desk: Desk) -> None:
    old_card = genuine(desk.day)
    issue_new_card(session, desk.day.members[0], actor="test")
    session.commit()
    before = row_counts(session)
    response = client.post(
        "/api/v1/checkins", json=card(lambda _day: old_card)(desk.day), headers=bearer(desk.tokens["desk"])
    )
    assert (response.status_code, response.get_json()["error"]) == (404, "card_replaced")
    assert row_counts(session) == before


@pytest.mark.parametrize("role", [Role.MEMBER, Role.AUDITOR])
def test_logged_in_user_without_desk_role_gets_403(
    client: FlaskClient, session: Session, desk: Desk, role: Role
) -> None:
    member = desk.day.members[1] if role is Role.MEMBER else None
    headers = logged_in(client, session, "someone", role, member=member)
    before = row_counts(session)
    response = client.post("/api/v1/checkins", json=body()(desk.day), headers=headers)
    assert (response.status_code, response.get_json()["error"]) == (403, "forbidden")
    assert row_counts(session) == before


def test_wrong_method_is_a_json_405(client: FlaskClient, desk: Desk) -> None:
    response = client.get("/api/v1/checkins", headers=bearer(desk.tokens["desk"]))
    assert (response.status_code, response.get_json()["error"]) == (405, "method_not_allowed")
