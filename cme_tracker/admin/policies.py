"""The office's credit policy pages: every policy and version in words, enabling and disabling a version, and
adding a version with an effective date after a preview of what it changes in a year's totals.

The preview is computed again for each of its pages and for its CSV download, from the form's fields, so
nothing is stored before the officer saves; a society-sized year takes about as long as computing it once
(see :func:`cme_tracker.credits.versions.preview_version`).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from flask import Blueprint, abort, flash, make_response, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext, lazy_gettext
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, DataRequired, InputRequired, Length, NumberRange, Optional, Regexp
from wtforms.widgets import CheckboxInput, ListWidget

from cme_tracker.accounts.authentication import current_actor
from cme_tracker.amounts import format_amount
from cme_tracker.credits.models import CreditPolicyVersion
from cme_tracker.credits.policy import CreditPolicy, LectureCode, RegistryNumber, UnitBasis
from cme_tracker.credits.versions import (
    VERSION_PATTERN,
    InvalidPolicy,
    PolicyPreview,
    add_version,
    candidate_policy,
    policy_of,
    policy_versions,
    preview_version,
    set_enabled,
)
from cme_tracker.credits.web import BASIS_LABELS as YEAR_BASIS_LABELS
from cme_tracker.credits.wording import (
    BASIS_LABELS,
    CODE_LABELS,
    REGISTRY_LABELS,
    UNIT_NAMES,
    policy_name,
    policy_sentences,
)
from cme_tracker.db import begin_write
from cme_tracker.errors import StaleVersion
from cme_tracker.exports.csvfile import neutral
from cme_tracker.society import FIRST_REPORT_YEAR, LAST_REPORT_YEAR, society_today, year_of
from cme_tracker.vocabulary import CmeField, Profession, Role, YearBasis
from cme_tracker.web.i18n import label
from cme_tracker.web.security import roles_required
from cme_tracker.web.session import db_session

blueprint = Blueprint("policies", __name__, url_prefix="/admin/policies")

SOCIETY_POLICY = "imsj"
PREVIEW_PER_PAGE = 50
MAX_PAGE = 10_000
_AMOUNT = r"^[0-9]{1,4}(\.[0-9]{1,2})?$"
_MINUTES = NumberRange(0, 24 * 60)
ACTIONS = ("preview", "csv", "save")


def _choices(values: Iterable[str]) -> list[SelectChoice]:
    """The values of a choice; the template writes their words (:func:`_choice_labels`)."""
    return [SelectChoice(str(value), str(value)) for value in values]


class _Checkboxes(SelectMultipleField):  # type: ignore[misc]
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _amount_field(text: Any, *, required: bool = False) -> StringField:
    return StringField(
        text,
        validators=[
            DataRequired() if required else Optional(),
            Regexp(_AMOUNT, message=lazy_gettext("An amount such as 0.5, 1 or 8.")),
        ],
    )


class EnableForm(FlaskForm):  # type: ignore[misc]
    """Enable or disable one version: the version of the row the page showed, so a stale edit is refused."""

    row_version = HiddenField(validators=[DataRequired(), Regexp(r"^[0-9]{1,9}$")])


class VersionForm(FlaskForm):  # type: ignore[misc]
    """A new version: every parameter the credit rules read, then the year to preview it on."""

    version = StringField(
        lazy_gettext("Version"),
        validators=[
            DataRequired(),
            Length(max=32),
            Regexp(VERSION_PATTERN.pattern, message=lazy_gettext("Letters, digits, “.”, “_” or “-”.")),
        ],
    )
    effective_from = DateField(lazy_gettext("Effective from"), validators=[DataRequired()])
    enabled = BooleanField(lazy_gettext("Enabled"), default=True)
    name_ja = StringField(lazy_gettext("Name (Japanese)"), validators=[DataRequired(), Length(max=200)])
    name_en = StringField(lazy_gettext("Name (English)"), validators=[DataRequired(), Length(max=200)])
    unit_name = SelectField(lazy_gettext("Counted in"), choices=_choices(UNIT_NAMES))
    professions = _Checkboxes(lazy_gettext("Professions"), choices=_choices(Profession))
    registry_number = SelectField(
        lazy_gettext("Registry number required"),
        choices=_choices(RegistryNumber),
    )
    fields = _Checkboxes(lazy_gettext("Eligible fields"), choices=_choices(CmeField))
    basis = SelectField(lazy_gettext("Units count"), choices=_choices(UnitBasis))
    minutes_per_unit = IntegerField(
        lazy_gettext("Minutes per unit"), validators=[InputRequired(), NumberRange(1, 24 * 60)]
    )
    unit_value = _amount_field(lazy_gettext("Amount per unit (step)"), required=True)
    minimum_minutes = IntegerField(
        lazy_gettext("Minimum minutes"), default=0, validators=[Optional(), _MINUTES]
    )
    remainder_from = IntegerField(lazy_gettext("Remainder from (minutes)"), validators=[Optional(), _MINUTES])
    remainder_value = _amount_field(lazy_gettext("Remainder gives"))
    full_attendance_tolerance = IntegerField(
        lazy_gettext("Full attendance: minutes a member may miss"), validators=[Optional(), _MINUTES]
    )
    cap_per_lecture = _amount_field(lazy_gettext("At most per lecture"))
    cap_per_day = _amount_field(lazy_gettext("At most per day"))
    cap_per_year = _amount_field(lazy_gettext("At most per year"))
    lecture_code = SelectField(
        lazy_gettext("Scheme code of the lecture"),
        choices=_choices(["", *LectureCode]),
        validators=[Optional()],
    )
    lecture_code_required = BooleanField(lazy_gettext("Only lectures with that code count"))
    preview_year = IntegerField(
        lazy_gettext("Preview year"),
        validators=[InputRequired(), NumberRange(FIRST_REPORT_YEAR, LAST_REPORT_YEAR)],
    )
    preview_basis = SelectField(lazy_gettext("Year basis"), choices=_choices(YearBasis))
    page = IntegerField(validators=[Optional(), NumberRange(1, MAX_PAGE)])
    action = StringField(default="preview", validators=[AnyOf(ACTIONS)])

    def fill_from(self, policy: CreditPolicy) -> None:
        """Start from the version in force: an officer changes what differs."""
        self.name_ja.data, self.name_en.data, self.unit_name.data = (
            policy.name_ja,
            policy.name_en,
            policy.unit_name,
        )
        self.professions.data = [value.value for value in Profession if value in policy.professions]
        self.registry_number.data = policy.registry_number.value
        self.fields.data = [value.value for value in CmeField if value in policy.fields]
        self.basis.data = policy.basis.value
        self.minutes_per_unit.data = policy.minutes_per_unit
        self.unit_value.data = format_amount(policy.unit_value)
        self.minimum_minutes.data = policy.minimum_minutes
        if policy.remainder is not None:
            self.remainder_from.data = policy.remainder.from_minutes
            self.remainder_value.data = format_amount(policy.remainder.value)
        self.full_attendance_tolerance.data = policy.full_attendance_tolerance
        caps = policy.caps
        for field, amount in (
            (self.cap_per_lecture, caps.per_lecture),
            (self.cap_per_day, caps.per_day),
            (self.cap_per_year, caps.per_year),
        ):
            field.data = None if amount is None else format_amount(amount)
        self.lecture_code.data = "" if policy.lecture_code is None else policy.lecture_code.value
        self.lecture_code_required.data = policy.lecture_code_required

    def parameters(self, base: CreditPolicy) -> dict[str, Any]:
        """The stored parameters these fields make; the multi-year requirement is kept from ``base``."""
        remainder = None
        if self.remainder_from.data is not None or self.remainder_value.data:
            remainder = {
                "from_minutes": self.remainder_from.data or 0,
                "value": self.remainder_value.data or "0",
            }
        stored = base.to_parameters()
        return {
            "name_en": self.name_en.data.strip(),
            "name_ja": self.name_ja.data.strip(),
            "unit_name": self.unit_name.data,
            "professions": list(self.professions.data or []),
            "registry_number": self.registry_number.data,
            "fields": list(self.fields.data or []),
            "minutes_per_unit": self.minutes_per_unit.data,
            "unit_value": self.unit_value.data,
            "minimum_minutes": self.minimum_minutes.data or 0,
            "remainder": remainder,
            "basis": self.basis.data,
            "full_attendance_tolerance": self.full_attendance_tolerance.data,
            "caps": {
                "per_lecture": self.cap_per_lecture.data or None,
                "per_day": self.cap_per_day.data or None,
                "per_year": self.cap_per_year.data or None,
            },
            "lecture_code": self.lecture_code.data or None,
            "lecture_code_required": bool(self.lecture_code_required.data),
            **({"requirement": stored["requirement"]} if "requirement" in stored else {}),
        }


@dataclass(frozen=True)
class PreviewPage:
    preview: PolicyPreview
    page: int
    pages: int
    lines: list[Any]


def _choice_labels() -> dict[str, dict[str, str]]:
    """The words of every choice of the form, in the request's language."""
    return {
        "unit_name": {name: f"{forms[1]}" for name, forms in UNIT_NAMES.items()},
        "professions": {value.value: label(value) for value in Profession},
        "registry_number": {value.value: str(text) for value, text in REGISTRY_LABELS.items()},
        "fields": {value.value: label(value) for value in CmeField},
        "basis": {value.value: str(text) for value, text in BASIS_LABELS.items()},
        "lecture_code": {
            ("" if value is None else value.value): str(text) for value, text in CODE_LABELS.items()
        },
        "preview_basis": {value.value: str(text) for value, text in YEAR_BASIS_LABELS.items()},
    }


@blueprint.get("")
@roles_required(Role.ADMIN)
def index() -> ResponseReturnValue:
    """Every policy with each version's rule in words, and which one is in force today."""
    session = db_session()
    listed = policy_versions(session, society_today())
    described = {row.id: policy_sentences(policy_of(row)) for entry in listed for row in entry.versions}
    names = {entry.code: policy_name(policy_of(entry.latest)) for entry in listed}
    return render_template(
        "admin/policies.html",
        listed=listed,
        described=described,
        names=names,
        society_policy=SOCIETY_POLICY,
        form=EnableForm(),
    )


def _toggle(code: str, version: str, *, enabled: bool) -> ResponseReturnValue:
    form = EnableForm()
    if not form.validate():
        abort(400, gettext("The form is out of date: reload the page and try again."))
    session = db_session()
    begin_write(session)
    try:
        row = set_enabled(
            session,
            code,
            version,
            enabled=enabled,
            expected_version=int(form.row_version.data),
            actor=current_actor().name,
        )
    except StaleVersion:
        session.rollback()
        flash(
            gettext(
                "Someone else changed %(code)s %(version)s meanwhile; nothing was saved. Check it below and "
                "try again.",
                code=code,
                version=version,
            ),
            "error",
        )
        return redirect(url_for("policies.index", _anchor=f"policy-{code}"), 303)
    session.commit()
    message = (
        gettext("%(code)s %(version)s is enabled.", code=code, version=version)
        if row.enabled
        else gettext("%(code)s %(version)s is disabled.", code=code, version=version)
    )
    flash(message, "success")
    return redirect(url_for("policies.index", _anchor=f"policy-{code}"), 303)


@blueprint.post("/<code>/<version>/enable")
@roles_required(Role.ADMIN)
def enable(code: str, version: str) -> ResponseReturnValue:
    return _toggle(code, version, enabled=True)


@blueprint.post("/<code>/<version>/disable")
@roles_required(Role.ADMIN)
def disable(code: str, version: str) -> ResponseReturnValue:
    return _toggle(code, version, enabled=False)


def _latest(code: str) -> CreditPolicyVersion:
    session = db_session()
    for entry in policy_versions(session, society_today()):
        if entry.code == code:
            return entry.in_force or entry.latest
    abort(404, gettext("There is no policy %(code)s.", code=code))


@blueprint.route("/<code>/new", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def new_version(code: str) -> ResponseReturnValue:
    """A new version: the form (filled from the version in force), its preview on a year, then saving."""
    base_row = _latest(code)
    base = policy_of(base_row)
    form = VersionForm()
    problem: str | None = None
    shown: PreviewPage | None = None
    if request.method == "GET":
        form.fill_from(base)
        today = society_today()
        form.preview_year.data = year_of(today, YearBasis.CALENDAR)
        form.preview_basis.data = YearBasis.CALENDAR.value
    elif form.validate():
        session = db_session()
        try:
            candidate = candidate_policy(
                code, form.version.data.strip(), form.effective_from.data, form.parameters(base)
            )
        except InvalidPolicy as error:
            problem = gettext("The credit rules refuse these parameters: %(reason)s", reason=error.message)
        else:
            action = form.action.data or "preview"
            if action == "save":
                return _save(code, form, candidate)
            preview = preview_version(
                session, candidate, form.preview_year.data, YearBasis(form.preview_basis.data)
            )
            if action == "csv":
                return _csv_response(preview)
            shown = _page_of(preview, form.page.data or 1)
            sentences = policy_sentences(candidate)
            return render_template(
                "admin/policy_version.html",
                code=code,
                base=base,
                base_sentences=policy_sentences(base),
                form=form,
                labels=_choice_labels(),
                problem=None,
                shown=shown,
                sentences=sentences,
                society_policy=SOCIETY_POLICY,
                signed=signed_amount,
                amount=format_amount,
            )
    status = 422 if request.method == "POST" else 200
    page = render_template(
        "admin/policy_version.html",
        code=code,
        base=base,
        base_sentences=policy_sentences(base),
        form=form,
        labels=_choice_labels(),
        problem=problem,
        shown=None,
        sentences=None,
        society_policy=SOCIETY_POLICY,
        signed=signed_amount,
        amount=format_amount,
    )
    return page, status


def _save(code: str, form: VersionForm, candidate: CreditPolicy) -> ResponseReturnValue:
    session = db_session()
    begin_write(session)
    row = add_version(
        session,
        code,
        candidate.version,
        candidate.effective_from,
        candidate.to_parameters(),
        enabled=bool(form.enabled.data),
        actor=current_actor().name,
    )
    session.commit()
    flash(
        gettext(
            "%(code)s %(version)s is saved, effective from %(day)s.",
            code=code,
            version=row.version,
            day=row.effective_from.isoformat(),
        ),
        "success",
    )
    return redirect(url_for("policies.index", _anchor=f"policy-{code}"), 303)


def _page_of(preview: PolicyPreview, page: int) -> PreviewPage:
    pages = max(1, -(-len(preview.lines) // PREVIEW_PER_PAGE))
    page = min(page, pages)
    start = (page - 1) * PREVIEW_PER_PAGE
    return PreviewPage(preview, page, pages, list(preview.lines[start : start + PREVIEW_PER_PAGE]))


PREVIEW_COLUMNS = ("member_no", "name", "old_total", "new_total", "difference")


def signed_amount(amount: Decimal) -> str:
    """A difference as the CSV and the page write it: ``-0.5``, ``0``, ``1.5``."""
    return f"-{format_amount(-amount)}" if amount < 0 else format_amount(amount)


def preview_csv(preview: PolicyPreview) -> str:
    """The preview's lines as CSV (UTF-8 with a BOM for Excel in Japan), text cells neutralised as the
    exports do; the amounts are written by :func:`format_amount`, digits only (a difference with its
    minus), so no cell can start a formula."""
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer)
    writer.writerow(PREVIEW_COLUMNS)
    for line in preview.lines:
        writer.writerow(
            (
                neutral(line.member_no),
                neutral(line.name),
                "" if line.old is None else format_amount(line.old),
                "" if line.new is None else format_amount(line.new),
                signed_amount(line.difference),
            )
        )
    return buffer.getvalue()


def _csv_response(preview: PolicyPreview) -> ResponseReturnValue:
    response = make_response(preview_csv(preview))
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    name = (
        f"imsj-policy-preview-{preview.code}-{preview.candidate_version}"
        f"-{preview.year}-{preview.basis.value}.csv"
    )
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response
