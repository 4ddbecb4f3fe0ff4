"""The administrators' pages: find members, see and replace their cards, print card sheets, confirm walk-ins.

Every view is for the ``admin`` role only. A POST commits once, after the service succeeded; anything that
fails before leaves the database as it was (the error handlers roll the request's session back).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext, lazy_gettext
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from wtforms import IntegerField, StringField, TextAreaField
from wtforms.validators import AnyOf, Length, NumberRange, Optional

from cme_tracker.accounts.authentication import current_actor
from cme_tracker.accounts.models import User
from cme_tracker.admin.review import confirm_walk_in
from cme_tracker.audit import chain
from cme_tracker.db import begin_write
from cme_tracker.jobs.models import Job, JobStatus
from cme_tracker.jobs.service import submit_job
from cme_tracker.jobs.web import job_kinds, start_worker
from cme_tracker.members.card_jobs import (
    IMMEDIATE_LIMIT,
    PRINT_CARD_SHEETS,
    PRINTED_FOR_ALL,
    CardSheetRequest,
    select_for_cards,
    stored_sheet,
)
from cme_tracker.members.cards import card_face, card_qr_data_uri, issue_new_card
from cme_tracker.members.models import Member
from cme_tracker.members.services import search_members
from cme_tracker.members.web import card_sheet_response
from cme_tracker.society import SOCIETY_ZONE
from cme_tracker.vocabulary import Role
from cme_tracker.web.security import roles_required, safe_redirect_target
from cme_tracker.web.session import db_session, settings

blueprint = Blueprint("admin", __name__, url_prefix="/admin")

PER_PAGE = 50
MAX_PAGE = 10_000
SCOPES = {
    "selected": lazy_gettext("The members with these numbers"),
    "all": lazy_gettext("All active members"),
}
"""The choices of the card sheet form (radio buttons written in the template: plain values, no widget)."""
_NUMBER_SEPARATORS = re.compile(r"[\s,;、，；]+")
_PRINTED_FOR_ALL = PRINTED_FOR_ALL


class MemberSearchForm(FlaskForm):  # type: ignore[misc]
    """The search box: a GET form, so a search can be bookmarked and needs no CSRF token."""

    q = StringField(lazy_gettext("Name or member number"), validators=[Optional(), Length(max=200)])
    page = IntegerField(validators=[Optional(), NumberRange(1, MAX_PAGE)])


class CardSheetForm(FlaskForm):  # type: ignore[misc]
    """Which cards to print; ticked ``member_no`` boxes of the members list join the typed numbers."""

    scope = StringField(lazy_gettext("Cards to print"), default="selected", validators=[AnyOf(list(SCOPES))])
    numbers = TextAreaField(
        lazy_gettext("Member numbers"),
        description=lazy_gettext("Separated by spaces, commas or line breaks."),
        validators=[Length(max=100_000)],
    )


@dataclass(frozen=True)
class MemberPage:
    """One page of a member list, and whether another follows."""

    members: Sequence[Member]
    page: int
    has_next: bool


def _actor() -> str:
    user: User = current_user._get_current_object()
    return user.login


def _member_or_404(session: Session, member_no: str) -> Member:
    member = session.scalar(select(Member).where(Member.member_no == member_no))
    if member is None:
        abort(404, gettext("There is no member with the number %(number)s.", number=member_no))
    return member


def _secret() -> str:
    secret: str = current_app.config["SECRET_KEY"]
    return secret


def _search_page(session: Session, query: str, page: int) -> MemberPage:
    """A page of search results; search_members returns the first N, so a page asks for all before it."""
    start = (page - 1) * PER_PAGE
    found = search_members(session, query, limit=start + PER_PAGE + 1, include_inactive=True)
    return MemberPage(found[start : start + PER_PAGE], page, len(found) > start + PER_PAGE)


def _listing_page(session: Session, page: int, *, walk_ins: bool) -> MemberPage:
    statement = select(Member)
    if walk_ins:
        statement = statement.where(Member.needs_review.is_(True)).order_by(Member.created_at, Member.id)
    else:
        statement = statement.order_by(Member.member_no)
    rows = session.scalars(statement.offset((page - 1) * PER_PAGE).limit(PER_PAGE + 1)).all()
    return MemberPage(rows[:PER_PAGE], page, len(rows) > PER_PAGE)


def _walk_ins_waiting(session: Session) -> int:
    count = session.scalar(select(func.count()).select_from(Member).where(Member.needs_review.is_(True)))
    return count or 0


def _page_number() -> int:
    form = MemberSearchForm(formdata=request.args, meta={"csrf": False})
    if not form.validate():
        abort(400, gettext("Choose a page from 1 to %(last)d.", last=MAX_PAGE))
    page: int = form.page.data or 1
    return page


def _today() -> str:
    return datetime.now(SOCIETY_ZONE).strftime("%Y%m%d")


@blueprint.get("/members")
@roles_required(Role.ADMIN)
def members() -> ResponseReturnValue:
    """All members by number, or those whose names or number match the search, a page at a time."""
    form = MemberSearchForm(formdata=request.args, meta={"csrf": False})
    if not form.validate():
        abort(
            400,
            gettext(
                "Choose a page from 1 to %(last)d, and a search of at most 200 characters.", last=MAX_PAGE
            ),
        )
    session = db_session()
    query = (form.q.data or "").strip()
    page: int = form.page.data or 1
    result = _search_page(session, query, page) if query else _listing_page(session, page, walk_ins=False)
    return render_template(
        "admin/members.html",
        form=form,
        query=query,
        result=result,
        walk_ins_waiting=_walk_ins_waiting(session),
    )


@blueprint.get("/walk-ins")
@roles_required(Role.ADMIN)
def walk_ins() -> ResponseReturnValue:
    """Guests registered at a desk, oldest first, for an administrator to check and confirm."""
    session = db_session()
    result = _listing_page(session, _page_number(), walk_ins=True)
    return render_template("admin/walk_ins.html", result=result, zone=SOCIETY_ZONE)


@blueprint.get("/members/<member_no>")
@roles_required(Role.ADMIN)
def member(member_no: str) -> ResponseReturnValue:
    """One member's records and their current card, with its QR code as the desk reads it."""
    member = _member_or_404(db_session(), member_no)
    face = card_face(_secret(), member)
    response = make_response(
        render_template("admin/member.html", member=member, face=face, qr=card_qr_data_uri(face.payload))
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response


@blueprint.get("/members/<member_no>/card.pdf")
@roles_required(Role.ADMIN)
def member_card(member_no: str) -> ResponseReturnValue:
    """One member's card alone on a sheet, for a replacement printed at the office."""
    member = _member_or_404(db_session(), member_no)
    return card_sheet_response([member], f"imsj-member-card-{member.member_no}.pdf")


@blueprint.post("/members/<member_no>/new-card")
@roles_required(Role.ADMIN)
def new_card(member_no: str) -> ResponseReturnValue:
    """Replace a lost or stolen card: the old one is refused at the desk from this moment on."""
    session = db_session()
    member = _member_or_404(session, member_no)
    serial = issue_new_card(session, member, actor=_actor())
    session.commit()
    flash(
        gettext(
            "Card no. %(serial)d issued to %(number)s. The previous card is no longer accepted: "
            "print the new one.",
            serial=serial,
            number=member.member_no,
        ),
        "success",
    )
    return redirect(url_for("admin.member", member_no=member.member_no), 303)


@blueprint.post("/members/<member_no>/confirm")
@roles_required(Role.ADMIN)
def confirm(member_no: str) -> ResponseReturnValue:
    """Confirm a walk-in's identity; back to the page the button was on."""
    session = db_session()
    member = _member_or_404(session, member_no)
    if confirm_walk_in(session, member, actor=_actor()):
        session.commit()
        flash(
            gettext("%(number)s %(name)s is confirmed.", number=member.member_no, name=member.name), "success"
        )
    else:
        flash(gettext("%(number)s was already confirmed.", number=member.member_no), "info")
    back = safe_redirect_target(request.form.get("next"))
    return redirect(back or url_for("admin.member", member_no=member.member_no), 303)


def _typed_numbers(text: str, ticked: Sequence[str]) -> list[str]:
    """Ticked numbers, then typed ones, each once, in that order; full-width characters are folded (NFKC)."""
    numbers = [*ticked, *_NUMBER_SEPARATORS.split(text)]
    folded = (unicodedata.normalize("NFKC", number).strip() for number in numbers)
    return list(dict.fromkeys(number for number in folded if number))


def _selection(session: Session, form: CardSheetForm) -> list[Member] | None:
    """The members to print, or None after adding the reason to the form's errors."""
    if form.scope.data == "all":
        everyone = session.scalars(select(Member).where(*_PRINTED_FOR_ALL).order_by(Member.member_no)).all()
        if not everyone:
            form.scope.errors.append(gettext("There are no active members to print cards for."))
            return None
        return list(everyone)
    numbers = _typed_numbers(form.numbers.data or "", request.form.getlist("member_no"))
    form.numbers.data = "\n".join(numbers)
    if not numbers:
        form.numbers.errors.append(gettext("Enter or tick at least one member number."))
        return None
    selection = select_for_cards(session, numbers)
    unknown, inactive = selection.unknown, selection.inactive
    if unknown:
        form.numbers.errors.append(
            gettext("No member has these numbers: %(numbers)s", numbers=", ".join(unknown))
        )
    if inactive:
        form.numbers.errors.append(
            gettext("These members are not active: %(numbers)s", numbers=", ".join(inactive))
        )
    if unknown or inactive:
        return None
    return selection.members


def _active_count(session: Session) -> int:
    count = session.scalar(select(func.count()).select_from(Member).where(*_PRINTED_FOR_ALL))
    return count or 0


@blueprint.route("/cards", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def card_sheets() -> ResponseReturnValue:
    """Card sheets as one PDF: of every active member, or of the members typed or ticked in the list.

    More than :data:`IMMEDIATE_LIMIT` cards are printed by a job, followed on its page, which offers the PDF.
    """
    session = db_session()
    form = CardSheetForm()
    if form.validate_on_submit():
        chosen = _selection(session, form)
        if chosen is not None and len(chosen) > IMMEDIATE_LIMIT:
            return _queue_card_sheet(session, form, chosen)
        if chosen is not None:
            label = "all" if form.scope.data == "all" else f"{len(chosen)}"
            return card_sheet_response(chosen, f"imsj-member-cards-{label}-{_today()}.pdf")
    status = 422 if any(field.errors for field in form) else 200
    page = render_template(
        "admin/cards.html",
        form=form,
        scopes=SCOPES,
        active_count=_active_count(session),
        immediate_limit=IMMEDIATE_LIMIT,
    )
    return page, status


def _queue_card_sheet(session: Session, form: CardSheetForm, chosen: Sequence[Member]) -> ResponseReturnValue:
    wanted = CardSheetRequest(
        None if form.scope.data == "all" else tuple(member.member_no for member in chosen),
        current_actor().name,
    )
    begin_write(session)
    job = submit_job(
        session,
        job_kinds(),
        kind=PRINT_CARD_SHEETS,
        parameters=wanted.parameters(),
        actor=wanted.requested_by,
    )
    session.commit()
    start_worker()
    return redirect(url_for("jobs.page", job_id=job.id), 303)


@blueprint.get("/cards/<int:job_id>.pdf")
@roles_required(Role.ADMIN)
def card_sheet_file(job_id: int) -> ResponseReturnValue:
    """The card sheet a job wrote, for an administrator; each download is recorded in the audit log."""
    session = db_session()
    job = session.get(Job, job_id)
    if job is None or job.kind != PRINT_CARD_SHEETS:
        abort(404)
    wanted = CardSheetRequest.from_parameters(job.parameters)
    path = stored_sheet(settings().instance_path, job.id, wanted)
    if job.status != JobStatus.SUCCEEDED or not path.is_file():
        abort(404, gettext("This card sheet is not written yet."))
    handle = path.open("rb")  # closed by the response
    begin_write(session)
    chain.record(
        session,
        actor=current_actor().name,
        action="cards.sheet_download",
        target=f"job:{job.id}",
        details={"file": wanted.file_name},
    )
    session.commit()
    response = send_file(
        handle, mimetype="application/pdf", as_attachment=True, download_name=f"{path.stem}-{_today()}.pdf"
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response
