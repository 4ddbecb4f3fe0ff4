"""``GET /api/v1/certificates/{serial}``: a certificate's status and what it certifies, for the office,
auditors (session or bearer token) and the member who holds it.

A member asking for someone else's serial gets the same 404 as for a serial that does not exist, so the
API reveals nothing about other members' certificates. Registered on the ``api`` blueprint when imported.
"""

from __future__ import annotations

from flask import jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from cme_tracker.accounts.authentication import current_actor
from cme_tracker.api.blueprint import blueprint
from cme_tracker.api.responses import certificate_json
from cme_tracker.documents.models import Certificate
from cme_tracker.errors import NotFound
from cme_tracker.vocabulary import Role
from cme_tracker.web.security import roles_required
from cme_tracker.web.session import db_session


@blueprint.get("/certificates/<serial>")
@roles_required(Role.ADMIN, Role.AUDITOR, Role.MEMBER, api_clients=True)
def certificate(serial: str) -> ResponseReturnValue:
    """The public record of the certificate, its holder's number, its lectures and policy totals."""
    certificate = db_session().scalar(
        select(Certificate)
        .where(Certificate.serial == serial.strip().upper())
        .options(selectinload(Certificate.replaced_by), selectinload(Certificate.member))
    )
    if certificate is None or not _may_read(certificate):
        raise NotFound(f"no certificate {serial}", code="unknown_certificate")
    from cme_tracker.documents.verify import PublicRecord  # pyHanko: loaded on first use, not with the app

    return jsonify(certificate_json(PublicRecord.of(certificate), certificate))


def _may_read(certificate: Certificate) -> bool:
    actor = current_actor()
    if actor.has_role(Role.ADMIN, Role.AUDITOR):
        return True
    own = actor.user.member if actor.user is not None else None
    return own is not None and own.id == certificate.member_id
