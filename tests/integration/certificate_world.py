"""Real signed certificates for the web tests, issued once per test module into a database of its own.

The issuing, reissuing and revoking services commit in transactions of their own, so they cannot run inside
the rolled-back transaction of the ``db`` fixture: a module builds one committed world instead, and each test
uses the members set aside for it, so the tests of a module never depend on their order.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from cme_tracker import create_app
from cme_tracker.certificates.issue import issue_attendance_certificates
from cme_tracker.db import Database
from cme_tracker.document_kinds import KINDS
from cme_tracker.documents.issue import reissue_certificate, revoke_certificate
from cme_tracker.documents.models import Certificate, RevocationCategory
from cme_tracker.documents.setup import DocumentSetup
from cme_tracker.members.models import Member
from cme_tracker.vocabulary import Role
from tests.conftest import TEST_AUDIT_KEY, DatabaseFactory, migrated_database
from tests.factories import attend, make_lecture, make_member, make_symposium
from tests.integration.web_login import make_login

SYMPOSIUM = "2026-05"
"""Certificates issued: one per member below."""
UNISSUED_SYMPOSIUM = "2026-07"
"""Attended, nothing issued yet: for the admin's issue button."""
PUBLIC_URL = "https://cme.example.org"
ENGLISH = {"Accept-Language": "en"}
JAPANESE = {"Accept-Language": "ja"}
HOLDER = {
    "family_name": "髙橋",
    "given_name": "花子",
    "family_name_kana": "タカハシ",
    "given_name_kana": "ハナコ",
    "family_name_romaji": "Takahashi",
    "given_name_romaji": "Hanako",
    "email": "hanako.takahashi@example.jp",
    "medical_registry_no": "987654",
}
"""The holder of the ``valid`` certificate: names to find on pages, and private data that must not appear."""
ROLES = ("valid", "revoked", "superseded", "other", "to_revoke", "to_reissue", "to_refuse")
"""One member each: ``superseded`` was reissued at set-up, the ``to_*`` ones are changed by one test each."""

_logins = itertools.count(1)


@dataclass(frozen=True)
class Issued:
    serial: str
    code: str
    member_no: str
    sha256: str
    file_path: str


@dataclass
class World:
    database: Database
    instance: Path
    issued: dict[str, Issued] = field(default_factory=dict)
    successor: Issued | None = None
    """The certificate that replaced ``issued["superseded"]``."""
    member_logins: dict[str, str] = field(default_factory=dict)

    def pdf(self, name: str) -> bytes:
        return (self.instance / self.issued[name].file_path).read_bytes()

    def app(self, **config: Any) -> Flask:
        return create_app(
            {
                "TESTING": True,
                "DATABASE": self.database,
                "INSTANCE_PATH": self.instance,
                "SECRET_KEY": "test-secret",
                "AUDIT_KEY": TEST_AUDIT_KEY,
                "PUBLIC_URL": PUBLIC_URL,
                "VERIFY_LOOKUPS_PER_MINUTE": 100_000,
                "VERIFY_UPLOADS_PER_MINUTE": 100_000,
                **config,
            }
        )

    def login(self, *roles: Role, member_no: str | None = None) -> str:
        """A new user with ``roles``, or the member's login (one per member, made on first use)."""
        if member_no in self.member_logins:
            return self.member_logins[member_no]
        login = f"user{next(_logins)}"
        with self.database.sessions() as session:
            member = (
                session.scalar(select(Member).where(Member.member_no == member_no)) if member_no else None
            )
            make_login(session, login, *roles, member=member)
        if member_no is not None:
            self.member_logins[member_no] = login
        return login

    def certificate(self, serial: str) -> Certificate:
        with self.database.sessions() as session:
            found = session.scalar(select(Certificate).where(Certificate.serial == serial))
            assert found is not None
            session.expunge(found)
            return found


def _record(certificate: Certificate) -> Issued:
    return Issued(
        certificate.serial,
        certificate.verification_code,
        certificate.member.member_no,
        certificate.sha256,
        certificate.file_path,
    )


def build_world(factory: DatabaseFactory, instance: Path) -> World:
    database = migrated_database(factory.create("certificates"))
    with database.unit_of_work() as session:
        symposium = make_symposium(session, SYMPOSIUM, date(2026, 5, 16), title_en="May CME Symposium")
        first = make_lecture(session, symposium, "10:00", "11:00", "clinical")
        second = make_lecture(session, symposium, "13:00", "14:30", "basic_medicine")
        unissued = make_symposium(session, UNISSUED_SYMPOSIUM, date(2026, 7, 18))
        later = make_lecture(session, unissued, "10:00", "11:00")
        numbers: dict[str, str] = {}
        for role in ROLES:
            values = HOLDER if role == "valid" else {}
            member = make_member(session, member_no=f"C{len(numbers) + 1:05d}", **values)
            attend(session, member, first, "10:00", "11:00")
            attend(session, member, second, "13:00", "14:30")
            numbers[role] = member.member_no
        for index in range(2):
            attend(session, make_member(session, member_no=f"J{index:05d}"), later, "10:00", "11:00")
    setup = DocumentSetup(instance, public_url=PUBLIC_URL)
    issue_attendance_certificates(database, setup, SYMPOSIUM, actor="test")
    world = World(database, instance)
    with database.sessions() as session:
        for role, member_no in numbers.items():
            certificate = session.scalar(
                select(Certificate).join(Member).where(Member.member_no == member_no)
            )
            assert certificate is not None
            world.issued[role] = _record(certificate)
    with database.unit_of_work() as session:
        revoke_certificate(
            session,
            world.issued["revoked"].serial,
            category=RevocationCategory.ATTENDANCE_CORRECTED,
            reason="checked out at 10:05, scanned at the wrong desk",
            actor="test",
        )
    successor = reissue_certificate(database, setup, KINDS, world.issued["superseded"].serial, actor="test")
    with database.sessions() as session:
        reloaded = session.get(Certificate, successor.id)
        assert reloaded is not None
        world.successor = _record(reloaded)
    return world


@pytest.fixture(scope="module")
def world(database_factory: DatabaseFactory, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    built = build_world(database_factory, tmp_path_factory.mktemp("certificates") / "instance")
    yield built
    built.database.engine.dispose()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
