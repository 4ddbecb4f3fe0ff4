"""The office's member forms: a member's records (new or edited), the reason to deactivate or reactivate, and
the confirmation of a merge.

The forms only carry text: the values are checked by the members importer's schema inside the service
(:mod:`cme_tracker.members.editing`), whose problems the page shows beside each field. Edits carry the version
of the member they were made against in a hidden field.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask_babel import LazyString, lazy_gettext
from flask_wtf import FlaskForm
from wtforms import Field, IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import HiddenInput

from cme_tracker.members.editing import EDITABLE, REASON_LENGTH
from cme_tracker.vocabulary import Profession

FIELD_LABELS: dict[str, LazyString] = {
    "member_no": lazy_gettext("Member number"),
    "profession": lazy_gettext("Profession"),
    "family_name": lazy_gettext("Family name (kanji or Latin)"),
    "given_name": lazy_gettext("Given name (kanji or Latin)"),
    "family_name_kana": lazy_gettext("Family name in kana"),
    "given_name_kana": lazy_gettext("Given name in kana"),
    "family_name_romaji": lazy_gettext("Family name in romaji"),
    "given_name_romaji": lazy_gettext("Given name in romaji"),
    "former_family_name": lazy_gettext("Former family name (旧姓)"),
    "email": lazy_gettext("Email"),
    "country": lazy_gettext("Country (ISO code such as JP, DE)"),
    "medical_registry_no": lazy_gettext("Medical registry number"),
    "dental_registry_no": lazy_gettext("Dental registry number"),
    "efn": lazy_gettext("EFN (German CME number)"),
    "active": lazy_gettext("Active"),
    "needs_review": lazy_gettext("Walk-in to confirm"),
    "card_serial": lazy_gettext("Card no."),
}
"""How the pages name a member's fields: in the forms and in the change history."""
MAX_VERSION = 2**31 - 1


def _text(name: str, length: int = 100) -> StringField:
    return StringField(FIELD_LABELS[name], validators=[Optional(), Length(max=length)])


class MemberForm(FlaskForm):  # type: ignore[misc]
    """A member's records; ``member_no`` only when the member is new. Lengths are bounded here so that
    nothing huge reaches the schema; every other rule is the schema's."""

    member_no = _text("member_no", 32)
    profession = SelectField(
        FIELD_LABELS["profession"],
        choices=[SelectChoice(profession.value, profession.value) for profession in Profession],
        description=lazy_gettext("Only a physician has a medical, only a dentist a dental registry number."),
        validators=[InputRequired()],
    )
    family_name = _text("family_name")
    given_name = _text("given_name")
    family_name_kana = _text("family_name_kana")
    given_name_kana = _text("given_name_kana")
    family_name_romaji = _text("family_name_romaji")
    given_name_romaji = _text("given_name_romaji")
    former_family_name = _text("former_family_name")
    email = _text("email", 254)
    country = _text("country", 8)
    medical_registry_no = _text("medical_registry_no", 16)
    dental_registry_no = _text("dental_registry_no", 16)
    efn = _text("efn", 32)
    version = IntegerField(widget=HiddenInput(), validators=[InputRequired(), NumberRange(1, MAX_VERSION)])
    """The version the form was opened on (an edit only: a new member's form has none)."""

    def values(self) -> dict[str, Any]:
        """The typed values by the schema's field names (``member_no`` only for a new member)."""
        names = EDITABLE if self.member_no is None else ("member_no", *EDITABLE)
        return {name: self[name].data or "" for name in names}

    def show_problems(self, problems: Mapping[str, Any]) -> None:
        """The schema's problems, each beside its field (a problem of no field goes to ``profession``)."""
        for name, messages in problems.items():
            field: Field = self._fields.get(name, self.profession)
            listed = messages if isinstance(messages, list) else [str(messages)]
            field.errors = [*field.errors, *(str(message) for message in listed)]


class StateForm(FlaskForm):  # type: ignore[misc]
    """Deactivate or reactivate: the reason goes to the audit log."""

    reason = TextAreaField(
        lazy_gettext("Reason (kept in the member's history)"),
        validators=[DataRequired(lazy_gettext("Give the reason.")), Length(max=REASON_LENGTH)],
    )
    version = IntegerField(validators=[InputRequired(), NumberRange(1, MAX_VERSION)])


class MergeForm(FlaskForm):  # type: ignore[misc]
    """The confirmation of a merge, made against the source's version as the page showed it."""

    version = IntegerField(validators=[InputRequired(), NumberRange(1, MAX_VERSION)])


class TargetSearchForm(FlaskForm):  # type: ignore[misc]
    """Whom to merge into: a GET search."""

    q = StringField(lazy_gettext("Name or member number"), validators=[Optional(), Length(max=200)])
