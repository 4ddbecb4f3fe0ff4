"""Validation of member data, as it comes from an import file's row (and later from the API)."""

from __future__ import annotations

import unicodedata
from typing import Any

from marshmallow import ValidationError, validates_schema

from cme_tracker.members.registry import efn_problem, registry_number_problem
from cme_tracker.tabular.cells import Choice, Code, Email, RowSchema, Text
from cme_tracker.vocabulary import Profession

NAME_LENGTH = 100

ISO_COUNTRIES = frozenset(
    (
        "AD",
        "AE",
        "AF",
        "AG",
        "AI",
        "AL",
        "AM",
        "AO",
        "AQ",
        "AR",
        "AS",
        "AT",
        "AU",
        "AW",
        "AX",
        "AZ",
        "BA",
        "BB",
        "BD",
        "BE",
        "BF",
        "BG",
        "BH",
        "BI",
        "BJ",
        "BL",
        "BM",
        "BN",
        "BO",
        "BQ",
        "BR",
        "BS",
        "BT",
        "BV",
        "BW",
        "BY",
        "BZ",
        "CA",
        "CC",
        "CD",
        "CF",
        "CG",
        "CH",
        "CI",
        "CK",
        "CL",
        "CM",
        "CN",
        "CO",
        "CR",
        "CU",
        "CV",
        "CW",
        "CX",
        "CY",
        "CZ",
        "DE",
        "DJ",
        "DK",
        "DM",
        "DO",
        "DZ",
        "EC",
        "EE",
        "EG",
        "EH",
        "ER",
        "ES",
        "ET",
        "FI",
        "FJ",
        "FK",
        "FM",
        "FO",
        "FR",
        "GA",
        "GB",
        "GD",
        "GE",
        "GF",
        "GG",
        "GH",
        "GI",
        "GL",
        "GM",
        "GN",
        "GP",
        "GQ",
        "GR",
        "GS",
        "GT",
        "GU",
        "GW",
        "GY",
        "HK",
        "HM",
        "HN",
        "HR",
        "HT",
        "HU",
        "ID",
        "IE",
        "IL",
        "IM",
        "IN",
        "IO",
        "IQ",
        "IR",
        "IS",
        "IT",
        "JE",
        "JM",
        "JO",
        "JP",
        "KE",
        "KG",
        "KH",
        "KI",
        "KM",
        "KN",
        "KP",
        "KR",
        "KW",
        "KY",
        "KZ",
        "LA",
        "LB",
        "LC",
        "LI",
        "LK",
        "LR",
        "LS",
        "LT",
        "LU",
        "LV",
        "LY",
        "MA",
        "MC",
        "MD",
        "ME",
        "MF",
        "MG",
        "MH",
        "MK",
        "ML",
        "MM",
        "MN",
        "MO",
        "MP",
        "MQ",
        "MR",
        "MS",
        "MT",
        "MU",
        "MV",
        "MW",
        "MX",
        "MY",
        "MZ",
        "NA",
        "NC",
        "NE",
        "NF",
        "NG",
        "NI",
        "NL",
        "NO",
        "NP",
        "NR",
        "NU",
        "NZ",
        "OM",
        "PA",
        "PE",
        "PF",
        "PG",
        "PH",
        "PK",
        "PL",
        "PM",
        "PN",
        "PR",
        "PS",
        "PT",
        "PW",
        "PY",
        "QA",
        "RE",
        "RO",
        "RS",
        "RU",
        "RW",
        "SA",
        "SB",
        "SC",
        "SD",
        "SE",
        "SG",
        "SH",
        "SI",
        "SJ",
        "SK",
        "SL",
        "SM",
        "SN",
        "SO",
        "SR",
        "SS",
        "ST",
        "SV",
        "SX",
        "SY",
        "SZ",
        "TC",
        "TD",
        "TF",
        "TG",
        "TH",
        "TJ",
        "TK",
        "TL",
        "TM",
        "TN",
        "TO",
        "TR",
        "TT",
        "TV",
        "TW",
        "TZ",
        "UA",
        "UG",
        "UM",
        "US",
        "UY",
        "UZ",
        "VA",
        "VC",
        "VE",
        "VG",
        "VI",
        "VN",
        "VU",
        "WF",
        "WS",
        "YE",
        "YT",
        "ZA",
        "ZM",
        "ZW",
    )
)
"""ISO 3166-1 alpha-2: the 249 officially assigned country codes."""


class RegistryNumber(Code):
    """A medical or dental registry number: text of digits, leading zeros kept."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(pattern=r".+", reason="", max_length=16, **kwargs)

    def clean(self, text: str) -> str:
        number = super().clean(text)
        problem = registry_number_problem(number)
        if problem:
            raise self.make_error("pattern", reason=problem)
        return number


class Efn(Code):
    """The German Einheitliche Fortbildungsnummer: 15 digits ending in a Luhn check digit."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(pattern=r".+", reason="", max_length=32, **kwargs)

    def clean(self, text: str) -> str:
        number = super().clean(text)
        problem = efn_problem(number)
        if problem:
            raise self.make_error("pattern", reason=problem)
        return number


class Country(Code):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            pattern=r"[A-Za-z]{2}",
            reason="not an ISO 3166 country code (two letters, e.g. JP, DE)",
            max_length=8,
            **kwargs,
        )

    def clean(self, text: str) -> str:
        code = super().clean(text).upper()
        if code not in ISO_COUNTRIES:
            raise self.make_error("pattern", reason=f"{code} is not an ISO 3166 country code (e.g. JP, DE)")
        return code


_KANA_EXTRAS = frozenset(" \u3000・ー･ｰ")


def _is_kana(char: str) -> bool:
    code = ord(char)
    return (
        0x3041 <= code <= 0x309F  # hiragana, with the voicing marks
        or 0x30A0 <= code <= 0x30FF  # katakana
        or 0x31F0 <= code <= 0x31FF  # katakana phonetic extensions
        or 0xFF66 <= code <= 0xFF9F  # half-width katakana
        or char in _KANA_EXTRAS
    )


class Kana(Text):
    """A name in hiragana or katakana (any width), as typed."""

    default_error_messages = {"kana": "not kana: {char!r} is neither hiragana nor katakana"}  # noqa: RUF012

    def clean(self, text: str) -> str:
        for char in text:
            if not _is_kana(char):
                raise self.make_error("kana", char=char)
        return text


class Romaji(Text):
    """A name in Latin letters (romaji, or a German name with its umlauts), in half width."""

    default_error_messages = {"latin": "not in Latin letters: {char!r}"}  # noqa: RUF012

    def clean(self, text: str) -> str:
        name = unicodedata.normalize("NFKC", text)
        for char in name:
            if char in " -'.’" or unicodedata.combining(char):
                continue
            if not (char.isalpha() and unicodedata.name(char, "").startswith("LATIN")):
                raise self.make_error("latin", char=char)
        return name


def member_number_field(**kwargs: Any) -> Code:
    return Code(
        max_length=32,
        pattern=r"[A-Za-z0-9][A-Za-z0-9._-]*",
        reason="a member number has letters, digits, '.', '_' and '-' only",
        **kwargs,
    )


def _name(required: bool = False) -> Text:
    return Text(required=required, max_length=NAME_LENGTH)


class MemberSchema(RowSchema):
    """One member. A registry number belongs to its profession: 医籍 to physicians, 歯科医籍 to dentists."""

    member_no = member_number_field(required=True)
    profession = Choice([profession.value for profession in Profession], required=True)
    family_name = _name(required=True)
    given_name = _name(required=True)
    family_name_kana = Kana(max_length=NAME_LENGTH)
    given_name_kana = Kana(max_length=NAME_LENGTH)
    family_name_romaji = Romaji(required=True, max_length=NAME_LENGTH)
    given_name_romaji = Romaji(required=True, max_length=NAME_LENGTH)
    former_family_name = _name()
    email = Email()
    country = Country()
    medical_registry_no = RegistryNumber()
    dental_registry_no = RegistryNumber()
    efn = Efn()

    @validates_schema(skip_on_field_errors=False)
    def registry_numbers_match_profession(self, data: dict[str, Any], **_kwargs: Any) -> None:
        errors = registry_profession_errors(
            data.get("profession"), data.get("medical_registry_no"), data.get("dental_registry_no")
        )
        if errors:
            raise ValidationError(errors)


REGISTRY_OWNERS = {
    "medical_registry_no": (Profession.PHYSICIAN, "only physicians have a medical registry number (医籍)"),
    "dental_registry_no": (Profession.DENTIST, "only dentists have a dental registry number (歯科医籍)"),
}


def registry_profession_errors(
    profession: str | None, medical_registry_no: str | None, dental_registry_no: str | None
) -> dict[str, list[str]]:
    """Registry numbers held by a member of another profession, by column."""
    if profession is None:
        return {}
    numbers = {"medical_registry_no": medical_registry_no, "dental_registry_no": dental_registry_no}
    return {
        column: [message]
        for column, (owner, message) in REGISTRY_OWNERS.items()
        if numbers[column] and profession != owner
    }
