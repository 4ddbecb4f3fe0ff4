"""The administrators' pages: find, add and edit members, see their records, history and cards, print card
sheets, confirm walk-ins, deactivate members and merge duplicates.

Every view is for the ``admin`` role only. A POST commits once, after the service succeeded; anything that
fails before leaves the database as it was (the error handlers roll the request's session back).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

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
from cme_tracker.admin.forms import FIELD_LABELS, MemberForm, MergeForm, StateForm, TargetSearchForm
from cme_tracker.admin.member_page import ACTION_LABELS, history_entries, member_documents, merged_from
from cme_tracker.admin.merge import member_counts, merge_members, merge_problems
from cme_tracker.admin.review import confirm_walk_in
from cme_tracker.attendance.records import member_records
from cme_tracker.attendance.services import last_symposia
from cme_tracker.audit import chain
from cme_tracker.credits.services import member_credits
from cme_tracker.credits.web import BASIS_LABELS, YearForm, credits_display, years_attended
from cme_tracker.db import begin_write
from cme_tracker.documents.labels import STATUS_LABELS
from cme_tracker.documents.models import CertificateKind
from cme_tracker.errors import DomainError, StaleVersion
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
from cme_tracker.members.editing import (
    InvalidMember,
    create_member,
    current_values,
    set_active,
    update_member,
)
from cme_tracker.members.history import member_history
from cme_tracker.members.models import Member
from cme_tracker.members.services import search_members
from cme_tracker.members.web import card_sheet_response
from cme_tracker.society import FIRST_REPORT_YEAR, LAST_REPORT_YEAR, SOCIETY_ZONE, society_today, year_of
from cme_tracker.vocabulary import Profession, Role, YearBasis
from cme_tracker.web.i18n import label
from cme_tracker.web.security import roles_required, safe_redirect_target
from cme_tracker.web.session import db_session, settings

blueprint = Blueprint("admin", __name__, url_prefix="/admin")

PER_PAGE = 50
MAX_PAGE = 10_000
HISTORY_LENGTH = 100
"""Events of the member's history the page shows; the audit log holds them all."""
MERGE_CANDIDATES = 20
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
        last_symposia=last_symposia(session, [member.id for member in result.members]),
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
    """One member's records, card, attendance and credits of a year, documents, and change history."""
    session = db_session()
    member = _member_or_404(session, member_no)
    form = YearForm(formdata=request.args, meta={"csrf": False})
    if not form.validate():
        abort(
            400,
            gettext(
                "Choose a year from %(first)d to %(last)d, and a calendar or fiscal year.",
                first=FIRST_REPORT_YEAR,
                last=LAST_REPORT_YEAR,
            ),
        )
    basis = YearBasis(form.basis.data or YearBasis.CALENDAR)
    this_year = year_of(society_today(), basis)
    year: int = form.year.data or this_year
    face = card_face(_secret(), member)
    merged_into = session.get(Member, member.merged_into_id) if member.merged_into_id is not None else None
    response = make_response(
        render_template(
            "admin/member.html",
            member=member,
            face=face,
            qr=card_qr_data_uri(face.payload),
            year=year,
            basis=basis,
            years=sorted(years_attended(session, member, basis) | {year, this_year}, reverse=True),
            basis_labels=BASIS_LABELS,
            records=member_records(session, member, year, basis),
            display=credits_display(session, member_credits(session, member, year, basis)),
            documents=member_documents(session, member),
            status_labels=STATUS_LABELS,
            attendance_kind=CertificateKind.ATTENDANCE,
            history=history_entries(member_history(session, member.member_no, limit=HISTORY_LENGTH)),
            history_length=HISTORY_LENGTH,
            action_labels=ACTION_LABELS,
            field_labels=FIELD_LABELS,
            merged_into=merged_into,
            merged_from=merged_from(session, member),
            state_form=StateForm(formdata=None, version=member.row_version),
            zone=SOCIETY_ZONE,
            local_time=_local_time,
        )
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _local_time(moment: datetime, zone: str) -> str:
    """A stored UTC time as the clock showed it at the symposium."""
    return moment.astimezone(ZoneInfo(zone)).strftime("%H:%M")


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


def _profession_choices(form: MemberForm) -> None:
    form.profession.choices = [(profession.value, label(profession)) for profession in Profession]


def _show_refusal(form: MemberForm, error: DomainError) -> None:
    """A refused save beside the field it is about, in the page's language."""
    details = error.details if isinstance(error.details, dict) else {}
    if error.code == "registry_number_taken":
        message = gettext(
            "Member %(number)s has this number already: if they are the same person, merge the duplicate "
            "into that member instead.",
            number=details.get("member_no", ""),
        )
        field = form[details.get("fields", ["medical_registry_no"])[0]]
    elif error.code == "member_no_taken" and form.member_no is not None:
        message, field = gettext("There is a member with this number already."), form.member_no
    else:
        message, field = error.message, form.profession
    field.errors = [*field.errors, message]


@blueprint.route("/members/new", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def new_member() -> ResponseReturnValue:
    """Add a member by hand, checked as the members import checks a row."""
    form = MemberForm()
    del form.version
    _profession_choices(form)
    if form.validate_on_submit():
        session = db_session()
        begin_write(session)
        try:
            created = create_member(session, form.values(), actor=current_actor().name)
        except InvalidMember as error:
            session.rollback()
            form.show_problems(error.details)
        except DomainError as error:
            session.rollback()
            _show_refusal(form, error)
        else:
            session.commit()
            flash(gettext("Member %(number)s is added.", number=created.member_no), "success")
            return redirect(url_for("admin.member", member_no=created.member_no), 303)
    status = 422 if form.is_submitted() else 200
    return render_template("admin/member_form.html", form=form, member=None), status


@blueprint.route("/members/<member_no>/edit", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def edit_member(member_no: str) -> ResponseReturnValue:
    """Edit a member's records; the form carries the version it was opened on, so that a save made meanwhile
    by someone else is not overwritten unnoticed."""
    session = db_session()
    member = _member_or_404(session, member_no)
    if request.method == "GET":
        form = MemberForm(formdata=None, data={**current_values(member), "version": member.row_version})
    else:
        form = MemberForm()
    del form.member_no
    _profession_choices(form)
    stale = False
    if form.validate_on_submit():
        begin_write(session)
        session.refresh(member)
        try:
            changes = update_member(
                session,
                member,
                form.values(),
                actor=current_actor().name,
                expected_version=form.version.data,
            )
        except StaleVersion:
            session.rollback()
            session.refresh(member)
            stale = True
            form = MemberForm(formdata=None, data={**current_values(member), "version": member.row_version})
            del form.member_no
            _profession_choices(form)
        except InvalidMember as error:
            session.rollback()
            form.show_problems(error.details)
        except DomainError as error:
            session.rollback()
            _show_refusal(form, error)
        else:
            session.commit()
            if changes:
                flash(gettext("The changes to %(number)s are saved.", number=member.member_no), "success")
            else:
                flash(gettext("Nothing was changed."), "info")
            return redirect(url_for("admin.member", member_no=member.member_no), 303)
    status = 409 if stale else 422 if form.is_submitted() else 200
    page = render_template("admin/member_form.html", form=form, member=member, stale=stale)
    return page, status


def _change_state(member_no: str, active: bool) -> ResponseReturnValue:
    session = db_session()
    member = _member_or_404(session, member_no)
    form = StateForm()
    back = redirect(url_for("admin.member", member_no=member.member_no), 303)
    if not form.validate_on_submit():
        flash(" ".join(str(error) for field in form for error in field.errors), "error")
        return back
    begin_write(session)
    session.refresh(member)
    try:
        set_active(
            session,
            member,
            active,
            reason=form.reason.data or "",
            actor=current_actor().name,
            expected_version=form.version.data,
        )
    except StaleVersion:
        session.rollback()
        flash(_stale_message(), "error")
    except DomainError as error:
        session.rollback()
        flash(error.message, "error")
    else:
        session.commit()
        if active:
            flash(gettext("%(number)s is active again.", number=member.member_no), "success")
        else:
            flash(gettext("%(number)s is deactivated.", number=member.member_no), "success")
    return back


def _stale_message() -> str:
    message: str = gettext(
        "Someone else changed this member after you opened the page, so nothing was saved. "
        "Check the member's records as they are now and try again."
    )
    return message


@blueprint.post("/members/<member_no>/deactivate")
@roles_required(Role.ADMIN)
def deactivate(member_no: str) -> ResponseReturnValue:
    """Deactivate a member: left out of searches at the desk and card sheets; every record stays."""
    return _change_state(member_no, False)


@blueprint.post("/members/<member_no>/reactivate")
@roles_required(Role.ADMIN)
def reactivate(member_no: str) -> ResponseReturnValue:
    """Make a deactivated member active again."""
    return _change_state(member_no, True)


@blueprint.get("/members/<member_no>/merge")
@roles_required(Role.ADMIN)
def merge_search(member_no: str) -> ResponseReturnValue:
    """Find the member a walk-in or duplicate is to be merged into."""
    session = db_session()
    source = _member_or_404(session, member_no)
    form = TargetSearchForm(formdata=request.args, meta={"csrf": False})
    if not form.validate():
        abort(400, gettext("Search with at most 200 characters."))
    query = (form.q.data or "").strip()
    found = search_members(session, query, limit=MERGE_CANDIDATES + 1, include_inactive=True) if query else []
    candidates = [member for member in found if member.id != source.id and member.merged_into_id is None]
    return render_template(
        "admin/merge_search.html",
        source=source,
        query=query,
        candidates=candidates[:MERGE_CANDIDATES],
        last_symposia=last_symposia(session, [member.id for member in candidates]),
    )


def _merge_refusal(problem: DomainError) -> str:
    """A refused merge in words for the office, in the page's language."""
    details = problem.details if isinstance(problem.details, dict) else {}
    listed = ", ".join(str(item) for item in next(iter(details.values()), []))
    texts = {
        "same_member": lazy_gettext("A member cannot be merged into themselves."),
        "already_merged": lazy_gettext("One of the two was merged into another member already."),
        "open_attendance_overlap": lazy_gettext(
            "Both members are checked in, and not out, at %(targets)s: close or void one of the two "
            "attendances first.",
            targets=listed,
        ),
        "certificate_conflict": lazy_gettext(
            "Both members hold a valid certificate or transcript of the same subject (%(serials)s), and only "
            "one may be valid: revoke one of them first.",
            serials=listed,
        ),
        "login_conflict": lazy_gettext(
            "Both members have a login (%(logins)s), and a member has at most one: remove one of them first.",
            logins=listed,
        ),
    }
    known = texts.get(problem.code)
    return str(known) if known is not None else problem.message


def _merge_page(session: Session, source: Member, target: Member, status: int = 200) -> ResponseReturnValue:
    members = (source, target)
    page = render_template(
        "admin/merge_confirm.html",
        source=source,
        target=target,
        counts={member.id: member_counts(session, member) for member in members},
        last_symposia=last_symposia(session, [member.id for member in members]),
        problems=[_merge_refusal(problem) for problem in merge_problems(session, source, target)],
        form=MergeForm(formdata=None, version=source.row_version),
    )
    return page, status


@blueprint.route("/members/<member_no>/merge/<target_no>", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def merge(member_no: str, target_no: str) -> ResponseReturnValue:
    """Both members side by side, what would move, and what stands in the way; the POST merges."""
    session = db_session()
    source = _member_or_404(session, member_no)
    target = _member_or_404(session, target_no)
    if request.method == "GET":
        return _merge_page(session, source, target)
    form = MergeForm()
    if not form.validate_on_submit():
        flash(_stale_message(), "error")
        return _merge_page(session, source, target, 422)
    begin_write(session)
    session.refresh(source)
    session.refresh(target)
    try:
        result = merge_members(
            session, source, target, actor=current_actor().name, expected_version=form.version.data
        )
    except StaleVersion:
        session.rollback()
        flash(_stale_message(), "error")
        return _merge_page(session, source, target, 409)
    except DomainError:
        session.rollback()  # the page lists what stands in the way
        return _merge_page(session, source, target, 409)
    session.commit()
    flash(
        gettext(
            "%(source)s is merged into %(target)s: %(attendances)d attendances, %(scans)d scans and "
            "%(documents)d documents moved.",
            source=source.member_no,
            target=target.member_no,
            attendances=result.moved.attendances,
            scans=result.moved.scans,
            documents=result.moved.certificates,
        ),
        "success",
    )
    return redirect(url_for("admin.member", member_no=target.member_no), 303)
