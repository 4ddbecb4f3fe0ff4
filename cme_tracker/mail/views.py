"""The office's view of outgoing mail: what was sent, what waits for a retry, and what failed and why."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import LazyString, gettext, lazy_gettext
from sqlalchemy import select

from cme_tracker.mail.models import MailStatus, OutgoingMail
from cme_tracker.mail.service import mail_counts
from cme_tracker.society import SOCIETY_ZONE
from cme_tracker.vocabulary import Role
from cme_tracker.web.security import roles_required
from cme_tracker.web.session import db_session

blueprint = Blueprint("outbox", __name__, url_prefix="/admin/mail")

PER_PAGE = 50
MAIL_STATUS_LABELS: dict[MailStatus, LazyString] = {
    MailStatus.QUEUED: lazy_gettext("Waiting"),
    MailStatus.SENDING: lazy_gettext("Being sent"),
    MailStatus.SENT: lazy_gettext("Sent"),
    MailStatus.FAILED: lazy_gettext("Failed"),
}
MAIL_KIND_LABELS: dict[str, LazyString] = {"check": lazy_gettext("Test message")}
"""What each kind of message is, for the office; a feature that sends mail adds its kind here."""


@blueprint.get("")
@roles_required(Role.ADMIN)
def index() -> ResponseReturnValue:
    """The newest messages first, optionally of one status, a page at a time (``before`` an id)."""
    status_name = request.args.get("status") or None
    before = request.args.get("before", type=int)
    if status_name is not None and status_name not in MailStatus.__members__.values():
        abort(400, gettext("Choose one of the states shown on the page."))
    if before is not None and not 0 < before < 2**31:
        abort(400, gettext("Choose one of the pages shown on the page."))
    statement = select(OutgoingMail).order_by(OutgoingMail.id.desc()).limit(PER_PAGE + 1)
    if status_name is not None:
        statement = statement.where(OutgoingMail.status == MailStatus(status_name))
    if before is not None:
        statement = statement.where(OutgoingMail.id < before)
    session = db_session()
    rows = session.scalars(statement).all()
    return render_template(
        "outbox/index.html",
        messages=rows[:PER_PAGE],
        next_before=rows[PER_PAGE - 1].id if len(rows) > PER_PAGE else None,
        status=status_name,
        counts=mail_counts(session),
        status_labels=MAIL_STATUS_LABELS,
        kind_labels=MAIL_KIND_LABELS,
        zone=SOCIETY_ZONE,
    )
