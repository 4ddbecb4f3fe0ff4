"""The member's own card: on the phone to show at the desk, and as a PDF to print.

The member always comes from the login (``current_user.member``), never from the URL, so a member can only
ever see their own card.
"""

from __future__ import annotations

from typing import Protocol

from flask import Blueprint, abort, current_app, make_response, render_template
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_login import current_user

from cme_tracker.members.cards import card_face, card_qr_data_uri
from cme_tracker.members.models import Member
from cme_tracker.members.web import card_sheet_response
from cme_tracker.vocabulary import Role
from cme_tracker.web.security import roles_required

blueprint = Blueprint("members", __name__)


class _MemberLogin(Protocol):
    """What these pages need of the login flask-login holds (an account's user): its member record."""

    @property
    def member(self) -> Member | None: ...


def _own_member() -> Member:
    """The logged-in member's own record: the only one a member's page ever shows."""
    user: _MemberLogin = current_user._get_current_object()
    member = user.member
    if member is None:
        abort(404, gettext("Your login is not linked to a member record. Please contact the society office."))
    return member


@blueprint.get("/me/card")
@roles_required(Role.MEMBER)
def card() -> ResponseReturnValue:
    """The member's current card, to show on a phone at the desk."""
    face = card_face(current_app.config["SECRET_KEY"], _own_member())
    page = render_template("members/card.html", face=face, qr=card_qr_data_uri(face.payload))
    response = make_response(page)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@blueprint.get("/me/card.pdf")
@roles_required(Role.MEMBER)
def card_pdf() -> ResponseReturnValue:
    """The member's own card as a PDF to print at home."""
    member = _own_member()
    return card_sheet_response([member], f"imsj-member-card-{member.member_no}.pdf")
