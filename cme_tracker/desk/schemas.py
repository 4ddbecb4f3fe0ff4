"""The walk-in form as the desk page sends it (JSON), checked with the same fields as the member import."""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, post_load, validates_schema

from cme_tracker.desk.walkins import WalkIn
from cme_tracker.members.schemas import NAME_LENGTH, Efn, Kana, RegistryNumber, Romaji
from cme_tracker.program.schemas import symposium_code_field
from cme_tracker.tabular.cells import Choice, RowSchema, Text
from cme_tracker.vocabulary import Profession

_REQUIRED = {"required": "required", "null": "required"}
_NAME_PARTS = ("family_name", "given_name")


def _name(**kwargs: Any) -> Text:
    return Text(max_length=NAME_LENGTH, error_messages=_REQUIRED, **kwargs)


def _is_latin(name: str) -> bool:
    try:
        Romaji(max_length=NAME_LENGTH).deserialize(name)
    except ValidationError:
        return False
    return True


class WalkInSchema(RowSchema):
    """A guest's names, profession and registry number; romaji may be left out for a name in Latin letters."""

    family_name = _name(required=True)
    given_name = _name(required=True)
    family_name_kana = Kana(max_length=NAME_LENGTH)
    given_name_kana = Kana(max_length=NAME_LENGTH)
    family_name_romaji = Romaji(max_length=NAME_LENGTH)
    given_name_romaji = Romaji(max_length=NAME_LENGTH)
    profession = Choice(
        [profession.value for profession in Profession], required=True, error_messages=_REQUIRED
    )
    registry_no = RegistryNumber()
    efn = Efn()
    symposium_code = symposium_code_field()
    desk = Text(max_length=64)

    @validates_schema(skip_on_field_errors=False)
    def check_names_and_registry(self, data: dict[str, Any], **_kwargs: Any) -> None:
        errors: dict[str, list[str]] = {}
        for part in _NAME_PARTS:
            name = data.get(part)
            if name and not data.get(f"{part}_romaji") and not _is_latin(name):
                errors[f"{part}_romaji"] = ["required for a name not written in Latin letters"]
        if data.get("registry_no") and data.get("profession") == Profession.OTHER:
            errors["registry_no"] = ["only physicians and dentists have a registry number"]
        if errors:
            raise ValidationError(errors)

    @post_load
    def make_walk_in(self, data: dict[str, Any], **_kwargs: Any) -> dict[str, Any]:
        """The :class:`WalkIn` under ``walk_in``, beside where it was registered."""
        walk_in = WalkIn(
            family_name=data["family_name"],
            given_name=data["given_name"],
            family_name_romaji=data.get("family_name_romaji") or data["family_name"],
            given_name_romaji=data.get("given_name_romaji") or data["given_name"],
            profession=Profession(data["profession"]),
            family_name_kana=data.get("family_name_kana"),
            given_name_kana=data.get("given_name_kana"),
            registry_no=data.get("registry_no"),
            efn=data.get("efn"),
        )
        return {"walk_in": walk_in, "symposium_code": data.get("symposium_code"), "desk": data.get("desk")}
