"""Issue 12's hostile-input suite: every URL rule, as every role, with GET and POST, never answers 5xx and
never writes.

Each rule's path parameters are filled with a NUL byte, a lone surrogate's (invalid) UTF-8 and a huge number
(an ``<int:...>`` also with the bounds of an INTEGER column); GETs carry a hostile query or NUL bytes in
headers and cookies, POSTs (with the
session's CSRF token, so that they reach the views) a 1,000-deep JSON body, JSON with a lone surrogate, huge
integers as JSON and as a form, NUL bytes in a form, a wrong content type and a 10 MB body. Bearer tokens
only count on API paths, so the API clients try those. The combinations are bounded (one hostile value per
request) so that the suite stays within seconds.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cme_tracker.models import metadata
from cme_tracker.vocabulary import Role
from cme_tracker.web.security import API_PREFIX
from tests.factories import make_member
from tests.integration.checkin_data import api_token, bearer
from tests.integration.web_login import csrf_token, log_in, make_login

HUGE = "99999999999999999999999"
PATH_VALUES = {"nul": "A%00B", "surrogate": "A%ED%A0%80B", "huge": HUGE, "plain": "X"}
"""How a path parameter is filled."""
INT_VALUES = {"nul": "2147483648", "surrogate": "2147483647", "huge": HUGE, "plain": "1"}
"""How an ``<int:...>`` is filled: just past and at the bound of an INTEGER column, huge, or ordinary."""
HOSTILE_QUERY = (
    f"?q=a%00b&c=%00&next=%00&before={HUGE}&after={HUGE}&page={HUGE}&year={HUGE}&limit={HUGE}"
    "&basis=%ED%A0%80&since=%00"
)
NESTED = "[" * 1000 + "]" * 1000
HUGE_FIELDS = {
    "year": int(HUGE),
    "limit": int(HUGE),
    "page": int(HUGE),
    "id": int(HUGE),
    "minutes": int(HUGE),
}
HOSTILE_HEADERS = {
    "Accept-Language": "ja\x00",
    "X-Request-Id": "a\x00b",
    "X-CSRFToken": "\x00",
    "Cookie": "cme_language=\x00; session=\x00",
}
TEN_MB = 10 * 1024 * 1024
COUNTED = {"rate_limit_windows"}
"""The public verify pages count every attempt of a client address, hostile or not: that is the throttle
working, not a record written."""
SKIPPED = {"/logout"}
"""Logging out with a valid CSRF token is no hostile input; it would end the session of the next probes."""


@dataclass
class Principal:
    name: str
    client: FlaskClient
    headers: dict[str, str] = field(default_factory=dict)
    csrf: str | None = None
    api_only: bool = False


def _fill(rule: str, variant: str) -> str:
    def value(match: re.Match[str]) -> str:
        converter = match.group(1) or ""
        if converter.startswith("int"):
            return INT_VALUES[variant]
        return PATH_VALUES[variant]

    return re.sub(r"<(?:(\w+(?:\([^)]*\))?):)?\w+>", value, rule)


def _principals(app: Flask, session: Session) -> list[Principal]:
    principals = [Principal("anonymous", app.test_client())]
    for role in (Role.MEMBER, Role.DESK, Role.AUDITOR, Role.ADMIN):
        client = app.test_client()
        login = f"hostile-{role.value}"
        make_login(session, login, role, member=make_member(session) if role == Role.MEMBER else None)
        assert log_in(client, login).status_code == 302
        token = csrf_token(client, "/")
        principals.append(Principal(role.value, client, {"X-CSRFToken": token}, token))
    for role in (Role.DESK, Role.AUDITOR):
        token = api_token(session, f"hostile-{role.value}", role)
        principals.append(Principal(f"{role.value} token", app.test_client(), bearer(token), api_only=True))
    return principals


def _posts(principal: Principal) -> list[dict[str, Any]]:
    """The POST bodies: the session's CSRF token rides along in the header and the form."""
    form_token = {"csrf_token": principal.csrf} if principal.csrf else {}
    surrogate = '{"member_no": "\\ud800", "family_name": "\\udfff", "lecture_code": "L", "direction": "in"}'
    return [
        {"data": NESTED, "content_type": "application/json"},
        {"data": surrogate, "content_type": "application/json"},
        {"json": HUGE_FIELDS},
        {"data": {**form_token, "year": HUGE, "page": HUGE, "member_no": HUGE, "limit": HUGE}},
        {"data": {**form_token, "login": "a\x00b", "password": "\x00", "q": "\x00", "reason": "x\x00"}},
        {"data": '{"member_no": "001001"}', "content_type": "text/xml"},
        {"data": b"\x00\xff" * 8, "content_type": "multipart/form-data; boundary=x"},
    ]


def _row_counts(session: Session) -> dict[str, int]:
    session.expire_all()
    return {
        table.name: session.scalar(select(func.count()).select_from(table)) or 0
        for table in metadata.sorted_tables
        if table.name not in COUNTED
    }


def test_no_hostile_request_gets_a_server_error_or_writes(app: Flask, session: Session) -> None:
    principals = _principals(app, session)
    rules = sorted(
        (rule.rule, rule.methods or set()) for rule in app.url_map.iter_rules() if rule.rule not in SKIPPED
    )
    before = _row_counts(session)
    statuses: Counter[int] = Counter()
    failures: list[str] = []

    def send(principal: Principal, method: str, url: str, **kwargs: Any) -> None:
        headers = {**principal.headers, **kwargs.pop("headers", {})}
        response = principal.client.open(url, method=method, headers=headers, **kwargs)
        response.close()  # a file answer (a script, a style sheet) holds its file open until closed
        statuses[response.status_code] += 1
        # /readyz answers 503 when a readiness check fails: that is its purpose, not a server error
        not_ready = url.partition("?")[0] == "/readyz" and response.status_code == 503
        if response.status_code >= 500 and not not_ready:
            failures.append(
                f"{principal.name} {method} {url} {kwargs.get('content_type', '')}: {response.status}"
            )

    for principal in principals:
        for rule, methods in rules:
            if principal.api_only and not rule.startswith(API_PREFIX):
                continue
            for variant in ("nul", "surrogate", "huge"):
                send(principal, "GET", _fill(rule, variant) + HOSTILE_QUERY)
            send(principal, "GET", _fill(rule, "plain"), headers=HOSTILE_HEADERS)
            if principal.api_only:
                send(principal, "GET", _fill(rule, "plain"), headers={"Authorization": "Bearer a\x00b"})
            if "POST" not in methods:
                send(principal, "POST", _fill(rule, "plain"), json=HUGE_FIELDS)
                continue
            for variant in ("nul", "huge"):
                send(principal, "POST", _fill(rule, variant), json=HUGE_FIELDS)
            for body in _posts(principal):
                send(principal, "POST", _fill(rule, "plain"), **body)
    big = b"x" * TEN_MB
    for principal in (principals[0], principals[4]):  # anonymous and admin: every POST rule, 10 MB each
        for rule, methods in rules:
            if "POST" in methods:
                send(principal, "POST", _fill(rule, "plain"), data=big, content_type="application/json")
                form = {"csrf_token": principal.csrf or "", "note": "x" * TEN_MB}
                send(principal, "POST", _fill(rule, "plain"), data=form)
    print(f"hostile input: {statuses.total()} requests, by status {dict(sorted(statuses.items()))}")
    assert failures == []
    assert _row_counts(session) == before
    assert statuses.total() > 1000
