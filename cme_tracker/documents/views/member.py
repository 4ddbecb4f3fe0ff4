"""The member's own documents of every kind: a list, and downloads of the valid ones.

The member comes from the login, never from the URL: a serial that is not the member's own answers 404, the
same as a serial that does not exist, so the page reveals nothing of other members' certificates. A kind may
add a section below the list by a template the page includes (the transcripts' request of a year's).
"""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, render_template
from flask.typing import ResponseReturnValue
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from cme_tracker.accounts.authentication import own_member
from cme_tracker.documents.labels import STATUS_LABELS
from cme_tracker.documents.models import Certificate, CertificateStatus
from cme_tracker.documents.web import pdf_download
from cme_tracker.society import SOCIETY_ZONE
from cme_tracker.vocabulary import Role
from cme_tracker.web.security import roles_required
from cme_tracker.web.session import db_session

blueprint = Blueprint("certificates", __name__, url_prefix="/me/certificates")


@blueprint.get("")
@roles_required(Role.MEMBER)
def mine() -> ResponseReturnValue:
    """Every certificate issued to the member, newest first; replaced and revoked ones say so."""
    member = own_member()
    certificates = db_session().scalars(
        select(Certificate)
        .where(Certificate.member_id == member.id)
        .options(selectinload(Certificate.symposium), selectinload(Certificate.replaced_by))
        .order_by(Certificate.issued_at.desc(), Certificate.id.desc())
    )
    return render_template(
        "certificates/mine.html",
        certificates=[(certificate, _issued_on(certificate)) for certificate in certificates],
        member=member,
        status_labels=STATUS_LABELS,
        valid=CertificateStatus.VALID,
    )


def _issued_on(certificate: Certificate) -> date:
    """The issue date as printed on the certificate: in its symposium's time zone."""
    zone = certificate.symposium.zone if certificate.symposium is not None else SOCIETY_ZONE
    return certificate.issued_at.astimezone(zone).date()


@blueprint.get("/<serial>.pdf")
@roles_required(Role.MEMBER)
def download(serial: str) -> ResponseReturnValue:
    """The member's own valid certificate as issued; anything else is not found."""
    member = own_member()
    certificate = db_session().scalar(
        select(Certificate).where(
            Certificate.serial == serial,
            Certificate.member_id == member.id,
            Certificate.status == CertificateStatus.VALID,
        )
    )
    if certificate is None:
        abort(404)
    return pdf_download(certificate)
