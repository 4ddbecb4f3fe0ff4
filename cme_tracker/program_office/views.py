"""The office's program pages: symposia and their lectures, created, edited, reordered, removed, opened and
closed, with the preview of what an edit changes before it is saved.

Every view is for ``admin`` only. Forms carry the version of the record they edit (a hidden field): a save
made against an older version is refused with a message, and nothing is written. An edit of a symposium
with counted attendance or issued documents that could change credits (times, field, codes, excluded
intervals; a symposium's date or zone) first shows its impact, computed in a savepoint and rolled back, and
is saved only when confirmed; the documents it left behind can then be reissued by a job.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import LazyString, gettext, lazy_gettext
from flask_wtf import FlaskForm
from marshmallow import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from wtforms import Field, HiddenField, IntegerField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import NumberRange

from cme_tracker.accounts.authentication import current_actor
from cme_tracker.amounts import format_amount
from cme_tracker.attendance.models import Attendance
from cme_tracker.db import begin_write
from cme_tracker.documents.labels import UNIT_LABELS
from cme_tracker.documents.web import document_kinds
from cme_tracker.errors import DomainError, NotFound, StaleVersion
from cme_tracker.jobs.web import job_kinds, start_worker
from cme_tracker.program.models import Lecture, Symposium
from cme_tracker.program.services import close_symposium, open_symposium
from cme_tracker.program_office import editing
from cme_tracker.program_office.editing import (
    LECTURE_CREDIT_FIELDS,
    SYMPOSIUM_CREDIT_FIELDS,
    LectureValues,
    SymposiumValues,
)
from cme_tracker.program_office.impact import Impact, affected_documents, preview, touches_records
from cme_tracker.program_office.reissue import submit_reissue
from cme_tracker.society import SOCIETY_ZONE_NAME
from cme_tracker.vocabulary import CmeField, Role, SymposiumKind, SymposiumStatus
from cme_tracker.web.security import roles_required
from cme_tracker.web.session import db_session

blueprint = Blueprint("program_admin", __name__, url_prefix="/admin/program")

KIND_LABELS = {
    SymposiumKind.REGULAR: lazy_gettext("Regular"),
    SymposiumKind.SPECIAL: lazy_gettext("Special"),
}
STATUS_LABELS = {
    SymposiumStatus.SCHEDULED: lazy_gettext("Open"),
    SymposiumStatus.CLOSED: lazy_gettext("Closed"),
}
PROBLEMS: dict[str, LazyString] = {
    "code": lazy_gettext(
        "Enter a code: the symposium's year and labels, such as 2026-11 (lectures: 2026-11-L3)."
    ),
    "date": lazy_gettext("Enter the date as YYYY-MM-DD."),
    "timezone": lazy_gettext("Enter an IANA time zone such as Asia/Tokyo or Europe/Berlin."),
    "title_ja": lazy_gettext(
        "Enter the title in Japanese (at most 300 characters for a symposium, 500 for a lecture)."
    ),
    "title_en": lazy_gettext(
        "Enter the English title (at most 300 characters for a symposium, 500 for a lecture)."
    ),
    "venue": lazy_gettext("At most 300 characters."),
    "kind": lazy_gettext("Choose regular or special."),
    "starts_at": lazy_gettext("Enter the start as HH:MM."),
    "ends_at": lazy_gettext("Enter the end as HH:MM, after the start."),
    "field": lazy_gettext("Choose the lecture's CME field."),
    "speaker": lazy_gettext("Enter the speaker (at most 300 characters, on one line)."),
    "speaker_affiliation": lazy_gettext("At most 300 characters."),
    "language": lazy_gettext("Enter a language code such as ja, en or de."),
    "jma_cc": lazy_gettext("A JMA curriculum code is a number from 1 to 84."),
    "jda_code": lazy_gettext("A JDA training code has letters, digits and '-' only."),
    "excluded": lazy_gettext(
        "Enter intervals as HH:MM-HH:MM inside the lecture, separated by ';', without overlaps."
    ),
}
"""What each field's refusal says on the pages; the rules are the program importer's (program/schemas.py)."""
STALE = lazy_gettext(
    "Someone else saved this record meanwhile. The form now shows the current version: "
    "make your change again and save."
)


class SymposiumForm(FlaskForm):  # type: ignore[misc]
    code = StringField(
        lazy_gettext("Code"), description=lazy_gettext("Such as 2026-11; it cannot change later.")
    )
    date = StringField(lazy_gettext("Date"), render_kw={"type": "date"})
    timezone = StringField(
        lazy_gettext("Time zone"),
        default=SOCIETY_ZONE_NAME,
        description=lazy_gettext("An IANA name: Asia/Tokyo, Europe/Berlin."),
    )
    title_ja = StringField(lazy_gettext("Title (Japanese)"))
    title_en = StringField(lazy_gettext("Title (English)"))
    venue = StringField(lazy_gettext("Venue"))
    kind = SelectField(
        lazy_gettext("Kind"), choices=[SelectChoice(kind.value, label) for kind, label in KIND_LABELS.items()]
    )
    version = HiddenField()
    confirmed = HiddenField()


class LectureForm(FlaskForm):  # type: ignore[misc]
    code = StringField(
        lazy_gettext("Code"), description=lazy_gettext("Such as 2026-11-L3; it cannot change later.")
    )
    starts_at = StringField(lazy_gettext("Starts"), render_kw={"type": "time"})
    ends_at = StringField(lazy_gettext("Ends"), render_kw={"type": "time"})
    field = SelectField(lazy_gettext("CME field"), choices=[])
    title_ja = StringField(lazy_gettext("Title (Japanese)"))
    title_en = StringField(lazy_gettext("Title (English)"))
    speaker = StringField(lazy_gettext("Speaker"))
    speaker_affiliation = StringField(lazy_gettext("Affiliation"))
    language = StringField(lazy_gettext("Language"), description=lazy_gettext("A code such as ja, en or de."))
    jma_cc = StringField(lazy_gettext("JMA curriculum code"), description=lazy_gettext("1 to 84."))
    jda_code = StringField(lazy_gettext("JDA training code"))
    excluded = StringField(
        lazy_gettext("Excluded intervals"),
        description=lazy_gettext("Breaks inside the lecture that earn nothing: 10:30-10:40; 11:15-11:20"),
    )
    version = HiddenField()
    confirmed = HiddenField()


class MoveForm(FlaskForm):  # type: ignore[misc]
    version = HiddenField()
    position = IntegerField(validators=[NumberRange(1, 999)])


class VersionForm(FlaskForm):  # type: ignore[misc]
    version = HiddenField()


class ReissueForm(FlaskForm):  # type: ignore[misc]
    """The reissue button: its CSRF token only; what to reissue is computed when it is pressed."""


SYMPOSIUM_TEXT = ("code", "date", "timezone", "title_ja", "title_en", "venue", "kind")
LECTURE_TEXT = (
    "code",
    "starts_at",
    "ends_at",
    "field",
    "title_ja",
    "title_en",
    "speaker",
    "speaker_affiliation",
    "language",
    "jma_cc",
    "jda_code",
    "excluded",
)


@blueprint.context_processor
def _helpers() -> dict[str, Any]:
    return {"amount": format_amount, "units": UNIT_LABELS}


@dataclass(frozen=True)
class SymposiumRow:
    symposium: Symposium
    lectures: int
    attendances: int


def _actor() -> str:
    return current_actor().name


def _field_choices(form: LectureForm) -> None:
    from cme_tracker.web.i18n import label

    form.field.choices = [SelectChoice(field.value, label(field)) for field in CmeField]


def _symposium_or_404(session: Session, code: str, *, for_update: bool = False) -> Symposium:
    try:
        return editing.find_symposium(session, code, for_update=for_update)
    except NotFound:
        abort(404, gettext("There is no symposium %(code)s.", code=code))


def _lecture_or_404(session: Session, code: str, *, for_update: bool = False) -> Lecture:
    try:
        return editing.find_lecture(session, code, for_update=for_update)
    except NotFound:
        abort(404, gettext("There is no lecture %(code)s.", code=code))


def _fingerprint(values: SymposiumValues | LectureValues) -> str:
    """What the preview showed the impact of: a save is confirmed only for exactly these values, so a form
    changed again after its preview is previewed again."""
    text = json.dumps(values.as_text(), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _version(form: Any) -> int | None:
    """The version the form was made from; a missing or mangled one is stale by definition (0)."""
    text = (form.version.data or "").strip()
    return int(text) if text.isdigit() and len(text) < 10 else 0


def _text(form: FlaskForm, names: tuple[str, ...]) -> dict[str, str]:
    return {name: (getattr(form, name).data or "") for name in names if name in form}


def _parsed(form: FlaskForm, parse: Callable[..., Any], text: Mapping[str, str], current: Any = None) -> Any:
    """The validated values, or None after adding each field's problem to the form."""
    try:
        return parse(text, current)
    except ValidationError as error:
        messages = error.messages if isinstance(error.messages, dict) else {}
        for name in messages:
            target: Field | None = getattr(form, name, None) if name in form else None
            if target is not None:
                target.errors = [*target.errors, str(PROBLEMS.get(name, gettext("Check this field.")))]
        return None


def _fill(form: FlaskForm, text: Mapping[str, str], version: int) -> None:
    for name, value in text.items():
        if name in form:
            getattr(form, name).data = value
    form.version.data = str(version)


def _rows(session: Session) -> list[SymposiumRow]:
    symposia = session.scalars(select(Symposium).order_by(Symposium.held_on.desc(), Symposium.code)).all()
    lectures: dict[int, int] = {
        key: count
        for key, count in session.execute(
            select(Lecture.symposium_id, func.count()).group_by(Lecture.symposium_id)
        )
    }
    attendances: dict[int, int] = {
        key: count
        for key, count in session.execute(
            select(Attendance.symposium_id, func.count())
            .where(Attendance.voided_at.is_(None))
            .group_by(Attendance.symposium_id)
        )
    }
    return [
        SymposiumRow(symposium, lectures.get(symposium.id, 0), attendances.get(symposium.id, 0))
        for symposium in symposia
    ]


@blueprint.get("/")
@roles_required(Role.ADMIN)
def index() -> ResponseReturnValue:
    """Every symposium, newest first, with its status and its counts of lectures and attendances."""
    return render_template(
        "program/index.html", rows=_rows(db_session()), status_labels=STATUS_LABELS, kind_labels=KIND_LABELS
    )


@blueprint.route("/new", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def new_symposium() -> ResponseReturnValue:
    form = SymposiumForm()
    if form.validate_on_submit():
        values = _parsed(form, editing.parse_symposium, _text(form, SYMPOSIUM_TEXT))
        if values is not None:
            session = db_session()
            begin_write(session)
            try:
                symposium = editing.create_symposium(session, values, actor=_actor())
            except DomainError as error:
                if error.code != "symposium_exists":
                    raise
                session.rollback()
                form.code.errors = [gettext("A symposium with this code exists already.")]
            else:
                session.commit()
                flash(gettext("Symposium %(code)s created.", code=symposium.code), "success")
                return redirect(url_for("program_admin.symposium", code=symposium.code), 303)
    status = 422 if form.is_submitted() else 200
    return render_template("program/symposium_form.html", form=form, symposium=None, impact=None), status


@blueprint.get("/<code>")
@roles_required(Role.ADMIN)
def symposium(code: str) -> ResponseReturnValue:
    """A symposium and its lectures in order, with their actions."""
    session = db_session()
    found = _symposium_or_404(session, code)
    lectures = [(lecture, LectureValues.of(lecture)) for lecture in editing.ordered_lectures(found)]
    return render_template(
        "program/symposium.html",
        symposium=found,
        lectures=lectures,
        status_labels=STATUS_LABELS,
        kind_labels=KIND_LABELS,
        closed=SymposiumStatus.CLOSED,
    )


def _days(old: date, new: date) -> set[date]:
    return {old, new}


@blueprint.route("/<code>/edit", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def edit_symposium(code: str) -> ResponseReturnValue:
    session = db_session()
    found = _symposium_or_404(session, code)
    current = SymposiumValues.of(found)
    form = SymposiumForm()
    impact: Impact | None = None
    status = 200
    if not form.is_submitted():
        _fill(form, current.as_text(), found.row_version)
    elif form.validate():
        text = {**_text(form, SYMPOSIUM_TEXT), "code": found.code}
        values: SymposiumValues | None = _parsed(form, editing.parse_symposium, text, current)
        if values is None:
            status = 422
        elif _version(form) != found.row_version:
            return _stale_symposium(form, found)
        else:
            changed = editing.changed_fields(current, values)
            needs_preview = SYMPOSIUM_CREDIT_FIELDS & set(changed) and touches_records(session, found)
            if needs_preview and form.confirmed.data != _fingerprint(values):
                begin_write(session)
                found = _symposium_or_404(session, code)
                impact = preview(
                    session,
                    document_kinds(),
                    found,
                    _days(current.held_on, values.held_on),
                    lambda: editing.write_symposium(session, found, values),
                )
                session.rollback()
                found = _symposium_or_404(session, code)
                form.confirmed.data = _fingerprint(values)
            else:
                return _save_symposium(session, code, form, values, bool(needs_preview), current.held_on)
    else:
        status = 422
    return render_template("program/symposium_form.html", form=form, symposium=found, impact=impact), status


def _save_symposium(
    session: Session, code: str, form: SymposiumForm, values: SymposiumValues, moved: bool, old_day: date
) -> ResponseReturnValue:
    begin_write(session)
    found = _symposium_or_404(session, code, for_update=True)
    try:
        editing.update_symposium(session, found, values, actor=_actor(), expected_version=_version(form))
    except StaleVersion:
        session.rollback()
        return _stale_symposium(form, _symposium_or_404(session, code))
    session.commit()
    flash(gettext("Symposium %(code)s saved.", code=code), "success")
    if moved:
        return redirect(url_for("program_admin.documents", code=code, since=old_day.isoformat()), 303)
    return redirect(url_for("program_admin.symposium", code=code), 303)


def _stale_symposium(form: SymposiumForm, found: Symposium) -> ResponseReturnValue:
    fresh = SymposiumForm(formdata=None)
    _fill(fresh, SymposiumValues.of(found).as_text(), found.row_version)
    fresh.form_errors = [str(STALE)]
    page = render_template(
        "program/symposium_form.html", form=fresh, symposium=found, impact=None, stale=True
    )
    return page, 409


@blueprint.post("/<code>/open")
@roles_required(Role.ADMIN)
def open_(code: str) -> ResponseReturnValue:
    return _set_status(code, opening=True)


@blueprint.post("/<code>/close")
@roles_required(Role.ADMIN)
def close(code: str) -> ResponseReturnValue:
    return _set_status(code, opening=False)


def _set_status(code: str, *, opening: bool) -> ResponseReturnValue:
    form = VersionForm()
    if not form.validate_on_submit():
        abort(400)
    session = db_session()
    begin_write(session)
    found = _symposium_or_404(session, code, for_update=True)
    change = open_symposium if opening else close_symposium
    try:
        change(session, found, actor=_actor(), expected_version=_version(form))
    except StaleVersion:
        session.rollback()
        flash(str(STALE), "error")
        return redirect(url_for("program_admin.symposium", code=code), 303)
    except DomainError:
        session.rollback()
        flash(gettext("Nothing changed: the symposium was already in that state."), "info")
        return redirect(url_for("program_admin.symposium", code=code), 303)
    session.commit()
    if opening:
        flash(gettext("Symposium %(code)s is open: desks can record scans on its day.", code=code), "success")
    else:
        flash(
            gettext("Symposium %(code)s is closed: desks can no longer record scans.", code=code), "success"
        )
    return redirect(url_for("program_admin.symposium", code=code), 303)


@blueprint.route("/<code>/lectures/new", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def new_lecture(code: str) -> ResponseReturnValue:
    session = db_session()
    found = _symposium_or_404(session, code)
    form = LectureForm()
    _field_choices(form)
    if not form.is_submitted():
        form.code.data = f"{found.code}-L{len(found.lectures) + 1}"
    elif form.validate():
        values = _parsed(form, editing.parse_lecture, _text(form, LECTURE_TEXT))
        if values is not None:
            begin_write(session)
            found = _symposium_or_404(session, code, for_update=True)
            try:
                lecture = editing.add_lecture(session, found, values, actor=_actor())
            except DomainError as error:
                session.rollback()
                if error.code == "lecture_exists":
                    form.code.errors = [gettext("A lecture with this code exists already.")]
                else:
                    form.code.errors = [
                        gettext("A lecture's code starts with its symposium's: %(code)s-", code=code)
                    ]
            else:
                session.commit()
                flash(gettext("Lecture %(code)s added.", code=lecture.code), "success")
                return redirect(url_for("program_admin.symposium", code=code), 303)
    status = 422 if form.is_submitted() else 200
    page = render_template("program/lecture_form.html", form=form, symposium=found, lecture=None, impact=None)
    return page, status


@blueprint.route("/lectures/<code>/edit", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def edit_lecture(code: str) -> ResponseReturnValue:
    session = db_session()
    found = _lecture_or_404(session, code)
    current = LectureValues.of(found)
    form = LectureForm()
    _field_choices(form)
    impact: Impact | None = None
    status = 200
    if not form.is_submitted():
        _fill(form, current.as_text(), found.row_version)
    elif form.validate():
        text = {**_text(form, LECTURE_TEXT), "code": found.code}
        values: LectureValues | None = _parsed(form, editing.parse_lecture, text, current)
        if values is None:
            status = 422
        elif _version(form) != found.row_version:
            return _stale_lecture(form, found)
        else:
            changed = editing.changed_fields(current, values)
            needs_preview = LECTURE_CREDIT_FIELDS & set(changed) and touches_records(session, found.symposium)
            if needs_preview and form.confirmed.data != _fingerprint(values):
                begin_write(session)
                found = _lecture_or_404(session, code)
                lecture = found
                impact = preview(
                    session,
                    document_kinds(),
                    found.symposium,
                    {found.symposium.held_on},
                    lambda: editing.write_lecture(session, lecture, values),
                    lecture_code=code,
                )
                session.rollback()
                found = _lecture_or_404(session, code)
                form.confirmed.data = _fingerprint(values)
            else:
                return _save_lecture(session, code, form, values, bool(needs_preview))
    else:
        status = 422
    page = render_template(
        "program/lecture_form.html", form=form, symposium=found.symposium, lecture=found, impact=impact
    )
    return page, status


def _save_lecture(
    session: Session, code: str, form: LectureForm, values: LectureValues, credited: bool
) -> ResponseReturnValue:
    begin_write(session)
    found = _lecture_or_404(session, code, for_update=True)
    try:
        editing.update_lecture(session, found, values, actor=_actor(), expected_version=_version(form))
    except StaleVersion:
        session.rollback()
        return _stale_lecture(form, _lecture_or_404(session, code))
    symposium_code = found.symposium.code
    session.commit()
    flash(gettext("Lecture %(code)s saved.", code=code), "success")
    if credited:
        return redirect(url_for("program_admin.documents", code=symposium_code, lecture=code), 303)
    return redirect(url_for("program_admin.symposium", code=symposium_code), 303)


def _stale_lecture(form: LectureForm, found: Lecture) -> ResponseReturnValue:
    fresh = LectureForm(formdata=None)
    _field_choices(fresh)
    _fill(fresh, LectureValues.of(found).as_text(), found.row_version)
    fresh.form_errors = [str(STALE)]
    page = render_template(
        "program/lecture_form.html",
        form=fresh,
        symposium=found.symposium,
        lecture=found,
        impact=None,
        stale=True,
    )
    return page, 409


@blueprint.post("/lectures/<code>/move")
@roles_required(Role.ADMIN)
def move_lecture(code: str) -> ResponseReturnValue:
    """Move a lecture up, down, or to a position in the program."""
    form = MoveForm()
    if not form.validate_on_submit():
        abort(400, gettext("Choose a position from 1 to 999."))
    session = db_session()
    begin_write(session)
    found = _lecture_or_404(session, code, for_update=True)
    symposium_code = found.symposium.code
    try:
        editing.move_lecture(
            session, found, form.position.data, actor=_actor(), expected_version=_version(form)
        )
    except StaleVersion:
        session.rollback()
        flash(str(STALE), "error")
    else:
        session.commit()
    return redirect(url_for("program_admin.symposium", code=symposium_code) + f"#lecture-{code}", 303)


@blueprint.post("/lectures/<code>/remove")
@roles_required(Role.ADMIN)
def remove_lecture(code: str) -> ResponseReturnValue:
    form = VersionForm()
    if not form.validate_on_submit():
        abort(400)
    session = db_session()
    begin_write(session)
    found = _lecture_or_404(session, code, for_update=True)
    symposium_code = found.symposium.code
    try:
        editing.remove_lecture(session, found, actor=_actor(), expected_version=_version(form))
    except StaleVersion:
        session.rollback()
        flash(str(STALE), "error")
    except DomainError as error:
        session.rollback()
        details = error.details or {}
        flash(
            gettext(
                "Lecture %(code)s cannot be removed: %(attendances)d attendance(s), %(scans)d scan(s) and "
                "%(documents)d issued document(s) refer to it. Correct the lecture instead.",
                code=code,
                attendances=details.get("attendances", 0),
                scans=details.get("scans", 0),
                documents=len(details.get("documents", [])),
            ),
            "error",
        )
    else:
        session.commit()
        flash(gettext("Lecture %(code)s removed.", code=code), "success")
    return redirect(url_for("program_admin.symposium", code=symposium_code), 303)


@blueprint.route("/<code>/documents", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def documents(code: str) -> ResponseReturnValue:
    """The valid documents whose content no longer matches the program, with a button that reissues them."""
    session = db_session()
    found = _symposium_or_404(session, code)
    days = {found.held_on}
    since = request.args.get("since", "")
    if len(since) == 10:
        with contextlib.suppress(ValueError):
            days.add(date.fromisoformat(since))
    lecture = request.args.get("lecture") or None
    if lecture is not None and len(lecture) > 40:
        abort(404)
    form = ReissueForm()
    affected = affected_documents(session, document_kinds(), found, days, lecture_code=lecture)
    serials = [document.serial for document in affected if document.reason == "changed"]
    if form.validate_on_submit():
        if not serials:
            flash(gettext("There is no document to reissue."), "info")
            return redirect(url_for("program_admin.symposium", code=code), 303)
        begin_write(session)
        job = submit_reissue(session, job_kinds(), serials, actor=_actor(), reason=f"symposium:{code}")
        session.commit()
        start_worker()
        return redirect(url_for("jobs.page", job_id=job.id), 303)
    return render_template(
        "program/documents.html",
        symposium=found,
        documents=affected,
        serials=serials,
        form=form,
        lecture=lecture,
    )
