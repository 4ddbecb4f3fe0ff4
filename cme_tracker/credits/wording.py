"""A credit policy's parameters in words, in the request's language, for the office's policy pages.

The parameters are data (:mod:`cme_tracker.credits.policy`); an officer confirming a preset reads them here as
sentences ("0.5 credit per full 30 minutes attended; under 30 minutes gives 0"), never as JSON.
"""

from __future__ import annotations

from decimal import Decimal

from babel.lists import format_list
from flask_babel import LazyString, get_locale, lazy_gettext
from flask_babel import gettext as _gettext

from cme_tracker.amounts import format_amount
from cme_tracker.credits.policy import CreditPolicy, LectureCode, RegistryNumber, UnitBasis
from cme_tracker.vocabulary import CmeField, Profession
from cme_tracker.web.i18n import label, localized

UNIT_NAMES: dict[str, tuple[LazyString, LazyString]] = {
    "credits": (lazy_gettext("credit"), lazy_gettext("credits")),
    "units": (lazy_gettext("unit"), lazy_gettext("units")),
    "points": (lazy_gettext("point"), lazy_gettext("points")),
}
"""What a policy counts in, one and several (an amount up to 1 takes the first: "0.5 credit", "1 unit")."""

_PROFESSIONS: dict[Profession, LazyString] = {
    Profession.PHYSICIAN: lazy_gettext("physicians"),
    Profession.DENTIST: lazy_gettext("dentists"),
    Profession.OTHER: lazy_gettext("other health professionals"),
}
_CODES: dict[LectureCode, LazyString] = {
    LectureCode.JMA_CC: lazy_gettext("JMA curriculum code"),
    LectureCode.JDA_CODE: lazy_gettext("JDA training code"),
}
REGISTRY_LABELS: dict[RegistryNumber, LazyString] = {
    RegistryNumber.NONE: lazy_gettext("No registry number needed"),
    RegistryNumber.MEDICAL: lazy_gettext("Medical registry number (医籍登録番号)"),
    RegistryNumber.DENTAL: lazy_gettext("Dental registry number (歯科医籍登録番号)"),
    RegistryNumber.EFN: lazy_gettext("EFN (German CME number)"),
}
CODE_LABELS: dict[LectureCode | None, LazyString] = {
    None: lazy_gettext("None"),
    LectureCode.JMA_CC: lazy_gettext("JMA curriculum code (1–84)"),
    LectureCode.JDA_CODE: lazy_gettext("JDA training code"),
}
BASIS_LABELS: dict[UnitBasis, LazyString] = {
    UnitBasis.MINUTES_ATTENDED: lazy_gettext("The minutes the member attended"),
    UnitBasis.LECTURE_LENGTH: lazy_gettext("The length of the lecture (with full attendance)"),
}


def gettext(message: str, **variables: object) -> str:
    """flask_babel's gettext, typed."""
    return str(_gettext(message, **variables))


def policy_name(policy: CreditPolicy) -> str:
    return localized(policy.name_ja, policy.name_en)


def amount_with_unit(amount: Decimal, unit_name: str) -> str:
    """``0.5 credit``, ``2 units``; an unknown unit name is written as it is stored."""
    names = UNIT_NAMES.get(unit_name)
    text = format_amount(amount)
    if names is None:
        return f"{text} {unit_name}"
    return gettext("%(amount)s %(unit)s", amount=text, unit=str(names[0] if amount <= 1 else names[1]))


def _listed(items: list[str]) -> str:
    locale = get_locale()
    return format_list(items, locale=locale) if locale is not None else ", ".join(items)


def who(policy: CreditPolicy) -> str:
    """Whom the policy applies to: ``physicians with a medical registry number``, ``everyone``."""
    everyone = policy.professions == frozenset(Profession)
    people = _listed(
        [str(_PROFESSIONS[profession]) for profession in Profession if profession in policy.professions]
    )
    if policy.registry_number is RegistryNumber.NONE:
        return gettext("everyone") if everyone else people
    if everyone:
        return {
            RegistryNumber.MEDICAL: gettext("members with a medical registry number"),
            RegistryNumber.DENTAL: gettext("members with a dental registry number"),
            RegistryNumber.EFN: gettext("members with an EFN"),
        }[policy.registry_number]
    return {
        RegistryNumber.MEDICAL: gettext("%(people)s with a medical registry number", people=people),
        RegistryNumber.DENTAL: gettext("%(people)s with a dental registry number", people=people),
        RegistryNumber.EFN: gettext("%(people)s with an EFN", people=people),
    }[policy.registry_number]


def fields_text(policy: CreditPolicy) -> str:
    if policy.fields == frozenset(CmeField):
        return gettext("all five, each counted in its own field")
    if not policy.fields:
        return gettext("none")
    return _listed([label(cme_field) for cme_field in CmeField if cme_field in policy.fields])


def policy_sentences(policy: CreditPolicy) -> list[str]:
    """The policy's rule, one clause a line, in the current language."""
    unit = amount_with_unit(policy.unit_value, policy.unit_name)
    if policy.basis is UnitBasis.MINUTES_ATTENDED:
        rule = gettext(
            "%(unit)s per full %(minutes)d minutes attended", unit=unit, minutes=policy.minutes_per_unit
        )
    else:
        rule = gettext(
            "%(unit)s per full %(minutes)d minutes of the lecture", unit=unit, minutes=policy.minutes_per_unit
        )
    sentences = [rule]
    if policy.remainder is not None:
        sentences.append(
            gettext(
                "plus %(amount)s for a remainder of %(low)d–%(high)d minutes",
                amount=amount_with_unit(policy.remainder.value, policy.unit_name),
                low=policy.remainder.from_minutes,
                high=policy.minutes_per_unit - 1,
            )
        )
    if policy.minimum_minutes:
        sentences.append(gettext("under %(minutes)d minutes gives 0", minutes=policy.minimum_minutes))
    if policy.full_attendance_tolerance is not None:
        sentences.append(
            gettext(
                "only if the member missed at most %(minutes)d minutes of the lecture",
                minutes=policy.full_attendance_tolerance,
            )
        )
    sentences.append(gettext("applies to %(who)s", who=who(policy)))
    sentences.append(gettext("fields: %(fields)s", fields=fields_text(policy)))
    if policy.lecture_code is not None:
        code = str(_CODES[policy.lecture_code])
        if policy.lecture_code_required:
            sentences.append(
                gettext("only lectures with a %(code)s count; the code is earned with them", code=code)
            )
        else:
            sentences.append(gettext("the lecture's %(code)s is earned with it", code=code))
    caps = policy.caps
    if caps.per_lecture is not None:
        sentences.append(
            gettext(
                "at most %(amount)s a lecture", amount=amount_with_unit(caps.per_lecture, policy.unit_name)
            )
        )
    if caps.per_day is not None:
        sentences.append(
            gettext("at most %(amount)s a day", amount=amount_with_unit(caps.per_day, policy.unit_name))
        )
    if caps.per_year is not None:
        sentences.append(
            gettext("at most %(amount)s a year", amount=amount_with_unit(caps.per_year, policy.unit_name))
        )
    requirement = policy.requirement
    if requirement is not None:
        parts = []
        if requirement.units is not None:
            parts.append(amount_with_unit(requirement.units, policy.unit_name))
        if requirement.distinct_codes is not None:
            parts.append(gettext("%(count)d distinct codes", count=requirement.distinct_codes))
        if requirement.combined is not None:
            parts.append(
                gettext(
                    "units plus distinct codes at least %(amount)s",
                    amount=format_amount(requirement.combined),
                )
            )
        sentences.append(
            gettext(
                "transcripts show progress toward: over %(years)d consecutive years, %(what)s",
                years=requirement.years,
                what=_listed(parts),
            )
        )
    return sentences
