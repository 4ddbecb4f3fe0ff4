"""The credit rules of docs/credits.md: minutes attended, then credits under each preset policy."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from cme_tracker.credits.engine import CreditEngine, lecture_amount
from cme_tracker.credits.minutes import (
    LectureSlot,
    Presence,
    attended_minutes,
    creditable_minutes,
    epoch_micros,
)
from cme_tracker.credits.policy import Caps, CreditPolicy
from cme_tracker.credits.presets import DE_CME, IMSJ, JDA, JMA, PRESETS
from cme_tracker.vocabulary import CmeField, Profession

TOKYO = ZoneInfo("Asia/Tokyo")
BERLIN = ZoneInfo("Europe/Berlin")
DAY = date(2026, 5, 16)


def at(hhmm: str, day: date = DAY) -> datetime:
    """A Tokyo time on ``day``; ``HH:MM:SS`` and fractions of a second are allowed."""
    return datetime.combine(day, time.fromisoformat(hhmm), tzinfo=TOKYO)


def lecture(
    starts: str,
    ends: str,
    field: CmeField = CmeField.CLINICAL,
    *,
    code: str = "2026-05-L1",
    symposium: str = "2026-05",
    day: date = DAY,
    excluded: list[tuple[str, str]] | None = None,
    jma_cc: str | None = None,
    jda_code: str | None = None,
) -> LectureSlot:
    return LectureSlot(
        code=code,
        symposium_code=symposium,
        day=day,
        starts_at=at(starts, day),
        ends_at=at(ends, day),
        field=field,
        excluded=tuple((at(start, day), at(end, day)) for start, end in excluded or []),
        jma_cc=jma_cc,
        jda_code=jda_code,
    )


def present(target: LectureSlot, check_in: str, check_out: str | None = None) -> Presence:
    """A per-lecture attendance."""
    return Presence(
        target.code, at(check_in, target.day), None if check_out is None else at(check_out, target.day)
    )


def present_all_day(symposium: str, check_in: str, check_out: str | None = None, day: date = DAY) -> Presence:
    """A whole-symposium attendance."""
    return Presence(
        symposium, at(check_in, day), None if check_out is None else at(check_out, day), whole_symposium=True
    )


def credits_of(
    policy: CreditPolicy, lectures: list[LectureSlot], presences: list[Presence]
) -> tuple[Decimal, dict[CmeField, Decimal]]:
    result = CreditEngine(lectures, [policy]).credit_presences(presences).policies[policy.code]
    return result.total, dict(result.by_field)


def minutes_of(lectures: list[LectureSlot], presences: list[Presence]) -> dict[str, int]:
    result = CreditEngine(lectures, [IMSJ]).credit_presences(presences)
    return {line.lecture.code: line.minutes for line in result.lectures}


# The worked examples of docs/credits.md (imsj)


def test_late_arrival_of_ten_minutes_leaves_one_full_block_of_thirty() -> None:
    talk = lecture("10:00", "11:00", CmeField.CLINICAL)
    total, by_field = credits_of(IMSJ, [talk], [present(talk, "10:10", "11:00")])
    assert minutes_of([talk], [present(talk, "10:10", "11:00")]) == {talk.code: 50}
    assert total == Decimal("0.5")
    assert by_field[CmeField.CLINICAL] == Decimal("0.5")


def test_full_ninety_minute_lecture_gives_one_and_a_half() -> None:
    talk = lecture("13:00", "14:30", CmeField.PHARMACEUTICALS)
    total, by_field = credits_of(IMSJ, [talk], [present(talk, "13:00", "14:30")])
    assert total == Decimal("1.5")
    assert by_field[CmeField.PHARMACEUTICALS] == Decimal("1.5")


def test_excluded_interval_is_taken_off_the_minutes_attended() -> None:
    talk = lecture("10:00", "11:00", excluded=[("10:30", "10:40")])
    presence = present(talk, "10:00", "11:00")
    assert minutes_of([talk], [presence]) == {talk.code: 50}
    assert credits_of(IMSJ, [talk], [presence])[0] == Decimal("0.5")


# Minutes attended


def test_early_leave_counts_until_check_out() -> None:
    talk = lecture("10:00", "11:00")
    assert minutes_of([talk], [present(talk, "10:00", "10:35")]) == {talk.code: 35}


def test_presence_before_the_lecture_starts_is_clipped_to_the_lecture() -> None:
    talk = lecture("10:00", "11:00")
    assert minutes_of([talk], [present(talk, "09:20", "11:45")]) == {talk.code: 60}


def test_missing_check_out_at_a_lecture_counts_until_the_lecture_ends() -> None:
    talk = lecture("10:00", "11:00")
    assert minutes_of([talk], [present(talk, "10:25")]) == {talk.code: 35}


def test_missing_check_out_of_the_whole_day_counts_until_the_last_lecture_ends() -> None:
    first = lecture("10:00", "11:00", code="2026-05-L1")
    last = lecture("13:00", "14:30", code="2026-05-L2")
    assert minutes_of([first, last], [present_all_day("2026-05", "10:30")]) == {
        first.code: 30,
        last.code: 90,
    }


def test_whole_day_attendance_counts_for_every_lecture_it_overlaps() -> None:
    morning = lecture("10:00", "11:00", code="2026-05-L1")
    afternoon = lecture("13:00", "14:00", code="2026-05-L2")
    assert minutes_of([morning, afternoon], [present_all_day("2026-05", "09:00", "12:00")]) == {
        morning.code: 60
    }


def test_per_lecture_attendance_counts_for_its_lecture_only() -> None:
    first = lecture("10:00", "11:00", code="2026-05-L1")
    second = lecture("11:00", "12:00", code="2026-05-L2")
    assert minutes_of([first, second], [present(first, "10:00", "12:00")]) == {first.code: 60}


def test_whole_day_and_per_lecture_attendance_overlapping_never_count_a_minute_twice() -> None:
    talk = lecture("10:00", "11:00")
    presences = [present_all_day("2026-05", "09:00", "10:40"), present(talk, "10:20", "10:50")]
    assert minutes_of([talk], presences) == {talk.code: 50}


def test_leaving_and_coming_back_counts_both_visits() -> None:
    talk = lecture("10:00", "11:30")
    presences = [present(talk, "10:00", "10:20"), present(talk, "10:50", "11:30")]
    assert minutes_of([talk], presences) == {talk.code: 60}
    assert credits_of(IMSJ, [talk], presences)[0] == Decimal(1)


def test_seconds_are_summed_before_rounding_down_to_whole_minutes() -> None:
    talk = lecture("10:00", "11:00")
    presences = [present(talk, "10:00:30", "10:20"), present(talk, "10:40", "10:59:45")]
    assert minutes_of([talk], presences) == {talk.code: 39}


def test_a_second_short_of_thirty_minutes_gives_nothing() -> None:
    talk = lecture("10:00", "11:00")
    assert credits_of(IMSJ, [talk], [present(talk, "10:30:00.000001", "11:00")])[0] == 0


def test_presence_only_inside_an_excluded_interval_gives_zero_minutes_not_negative() -> None:
    talk = lecture("10:00", "11:00", excluded=[("10:30", "10:40"), ("10:35", "10:45")])
    assert minutes_of([talk], [present(talk, "10:31", "10:44")]) == {talk.code: 0}


def test_check_out_before_check_in_of_a_lecture_counts_nothing() -> None:
    talk = lecture("10:00", "11:00")
    assert minutes_of([talk], [present(talk, "11:10")]) == {talk.code: 0}


def test_attended_minutes_of_one_lecture_match_the_engine() -> None:
    talk = lecture("10:00", "11:00", excluded=[("10:30", "10:40")])
    assert attended_minutes(talk, [(at("10:05"), at("10:35")), (at("10:30"), None)]) == 45
    assert creditable_minutes(talk) == 50


# imsj


def test_imsj_counts_each_lecture_in_its_own_field() -> None:
    clinical = lecture("10:00", "11:00", CmeField.CLINICAL, code="L1")
    discourse = lecture("11:00", "12:30", CmeField.DISCOURSE, code="L2")
    total, by_field = credits_of(IMSJ, [clinical, discourse], [present_all_day("2026-05", "10:00", "12:30")])
    assert total == Decimal("2.5")
    assert by_field == {
        CmeField.CLINICAL: Decimal(1),
        CmeField.BASIC_MEDICINE: 0,
        CmeField.PHARMACEUTICALS: 0,
        CmeField.DENTISTRY: 0,
        CmeField.DISCOURSE: Decimal("1.5"),
    }


def test_under_thirty_minutes_gives_no_imsj_credit() -> None:
    talk = lecture("10:00", "11:00")
    assert credits_of(IMSJ, [talk], [present(talk, "10:31", "11:00")])[0] == 0


# jma


def test_jma_credits_only_lectures_with_a_curriculum_code_and_earns_the_codes() -> None:
    coded = lecture("10:00", "11:00", code="L1", jma_cc="8")
    other = lecture("11:00", "12:00", code="L2", jma_cc="43")
    uncoded = lecture("13:00", "14:00", code="L3")
    engine = CreditEngine([coded, other, uncoded], [JMA])
    result = engine.credit_presences([present_all_day("2026-05", "10:00", "14:00")]).policies["jma"]
    assert result.total == Decimal(2)
    assert result.codes == ("43", "8")


def test_jma_code_is_not_earned_without_a_unit() -> None:
    talk = lecture("10:00", "11:00", jma_cc="8")
    result = CreditEngine([talk], [JMA]).credit_presences([present(talk, "10:40", "11:00")])
    assert result.policies["jma"].codes == ()
    assert result.lectures[0].awards["jma"].code is None


def test_imsj_reports_no_codes_at_all() -> None:
    talk = lecture("10:00", "11:00", jma_cc="8")
    result = CreditEngine([talk], [IMSJ]).credit_presences([present(talk, "10:00", "11:00")])
    assert result.policies["imsj"].codes is None


# jda


@pytest.mark.parametrize(
    ("check_in", "units"),
    [
        ("10:41", 0),  # 19 minutes
        ("10:40", 1),  # 20 minutes: remainder alone
        ("10:31", 1),  # 29 minutes
        ("10:30", 1),  # 30 minutes
        ("10:10", 2),  # 50 minutes: 1 + remainder 20
        ("10:11", 1),  # 49 minutes: remainder 19
        ("10:00", 2),  # 60 minutes
    ],
)
def test_jda_gives_a_unit_per_thirty_minutes_plus_one_for_a_remainder_of_twenty(
    check_in: str, units: int
) -> None:
    talk = lecture("10:00", "11:00", CmeField.DENTISTRY, jda_code="2301")
    assert credits_of(JDA, [talk], [present(talk, check_in, "11:00")])[0] == units


def test_jda_earns_the_training_code_and_skips_discourse() -> None:
    dental = lecture("10:00", "11:00", CmeField.DENTISTRY, code="L1", jda_code="2301")
    discourse = lecture("11:00", "12:00", CmeField.DISCOURSE, code="L2", jda_code="9999")
    result = CreditEngine([dental, discourse], [JDA]).credit_presences([present_all_day("2026-05", "10:00")])
    assert result.policies["jda"].total == 2
    assert result.policies["jda"].codes == ("2301",)


# de-cme


def test_de_cme_gives_a_point_per_full_45_minutes_of_the_lecture() -> None:
    talk = lecture("10:00", "11:30", CmeField.BASIC_MEDICINE)
    assert credits_of(DE_CME, [talk], [present(talk, "10:05", "11:30")])[0] == 2


@pytest.mark.parametrize(("check_in", "points"), [("10:00", 1), ("10:05", 1), ("10:06", 0), ("10:05:01", 0)])
def test_de_cme_allows_at_most_five_missed_minutes(check_in: str, points: int) -> None:
    talk = lecture("10:00", "11:00")
    assert credits_of(DE_CME, [talk], [present(talk, check_in, "11:00")])[0] == points


def test_de_cme_measures_missed_minutes_against_the_creditable_length() -> None:
    talk = lecture("10:00", "11:00", excluded=[("10:00", "10:10")])
    assert credits_of(DE_CME, [talk], [present(talk, "10:10", "11:00")])[0] == 1


def test_de_cme_caps_at_eight_points_a_day_in_lecture_order() -> None:
    talks = [
        lecture(f"{9 + 2 * n:02d}:00", f"{10 + 2 * n:02d}:30", code=f"L{n}", field=CmeField.CLINICAL)
        for n in range(5)
    ]
    engine = CreditEngine(talks, [DE_CME])
    result = engine.credit_presences([present_all_day("2026-05", "08:00")])
    assert result.policies["de-cme"].total == 8
    assert [line.awards["de-cme"].amount for line in result.lectures] == [2, 2, 2, 2, 0]


def test_day_cap_starts_again_on_the_next_day() -> None:
    next_day = date(2026, 7, 18)
    talks = [
        lecture(f"{9 + 2 * n:02d}:00", f"{10 + 2 * n:02d}:30", code=f"A{n}", symposium="2026-05")
        for n in range(5)
    ] + [lecture("10:00", "11:30", code="B1", symposium="2026-07", day=next_day)]
    result = CreditEngine(talks, [DE_CME]).credit_presences(
        [present_all_day("2026-05", "08:00"), present_all_day("2026-07", "10:00", day=next_day)]
    )
    assert result.policies["de-cme"].total == 10


def test_a_cap_partly_used_gives_what_is_left() -> None:
    capped = replace(IMSJ, caps=Caps(per_year=Decimal("1.5")))
    talks = [lecture("10:00", "11:00", code="L1"), lecture("11:00", "12:00", code="L2")]
    result = CreditEngine(talks, [capped]).credit_presences([present_all_day("2026-05", "10:00", "12:00")])
    assert [line.awards["imsj"].amount for line in result.lectures] == [1, Decimal("0.5")]


def test_a_lecture_cap_limits_one_long_lecture() -> None:
    capped = replace(IMSJ, caps=Caps(per_lecture=Decimal(1)))
    talk = lecture("10:00", "12:00")
    assert credits_of(capped, [talk], [present(talk, "10:00", "12:00")])[0] == 1


# Which policies apply


@pytest.mark.parametrize(
    ("holder", "expected"),
    [
        ((Profession.PHYSICIAN, True, False, False), ["imsj", "jma"]),
        ((Profession.PHYSICIAN, False, False, False), ["imsj"]),
        ((Profession.DENTIST, False, True, False), ["imsj", "jda"]),
        ((Profession.DENTIST, False, False, False), ["imsj"]),
        ((Profession.DENTIST, True, False, False), ["imsj"]),
        ((Profession.PHYSICIAN, False, False, True), ["imsj", "de-cme"]),
        ((Profession.OTHER, False, False, False), ["imsj"]),
    ],
)
def test_policies_apply_by_profession_and_registry_number(
    holder: tuple[Profession, bool, bool, bool], expected: list[str]
) -> None:
    engine = CreditEngine([], PRESETS)
    assert [engine.policies[position].code for position in engine.select_policies(*holder)] == expected


def test_a_member_sees_only_the_policies_that_apply_to_them() -> None:
    talk = lecture("10:00", "11:00", CmeField.DENTISTRY, jma_cc="1", jda_code="2301")
    engine = CreditEngine([talk], PRESETS)
    result = engine.credit_presences(
        [present(talk, "10:00", "11:00")], engine.select_policies(Profession.DENTIST, False, False, False)
    )
    assert list(result.policies) == ["imsj"]
    assert list(result.lectures[0].awards) == ["imsj"]


def test_every_result_names_the_policy_version() -> None:
    newer = replace(IMSJ, version="2027.1")
    result = CreditEngine([], [newer]).credit_presences([])
    assert result.policies["imsj"].version == "2027.1"
    assert result.policies["imsj"].total == 0
    assert set(result.policies["imsj"].by_field) == set(CmeField)


def test_lecture_amount_refuses_a_field_the_policy_does_not_cover() -> None:
    talk = lecture("10:00", "11:00", CmeField.DISCOURSE)
    assert lecture_amount(DE_CME, talk, 60, 60) == 0
    assert lecture_amount(IMSJ, talk, 60, 60) == 1


def test_presence_for_a_lecture_outside_the_program_is_refused() -> None:
    talk = lecture("10:00", "11:00")
    with pytest.raises(ValueError, match="not a lecture or symposium of this computation"):
        CreditEngine([talk], [IMSJ]).credit_presences([Presence("2026-07-L1", at("10:00"))])


def test_naive_times_are_refused() -> None:
    talk = lecture("10:00", "11:00")
    with pytest.raises(ValueError, match="naive"):
        CreditEngine([talk], [IMSJ]).credit_presences([Presence(talk.code, at("10:00").replace(tzinfo=None))])


def test_presence_times_in_another_zone_are_compared_as_instants() -> None:
    in_berlin = lecture("10:00", "11:00")
    in_berlin = replace(
        in_berlin,
        starts_at=in_berlin.starts_at.replace(tzinfo=BERLIN),
        ends_at=in_berlin.ends_at.replace(tzinfo=BERLIN),
    )
    assert (
        attended_minutes(in_berlin, [(at("17:10"), None)]) == 50
    )  # 17:10 in Tokyo is 10:10 in Berlin in May


# The bulk loop


def micros(hhmm: str) -> int:
    return epoch_micros(at(hhmm))


def test_bulk_rows_may_name_lectures_and_symposia_by_database_ids() -> None:
    talk = lecture("10:00", "11:00", code="2026-05-L1")
    engine = CreditEngine([talk], [IMSJ], lecture_aliases={41: talk.code}, symposium_aliases={7: "2026-05"})
    rows = [(1, 41, 7, micros("10:10"), None), (2, None, 7, micros("09:00"), micros("11:30"))]
    totals = {
        member: result.policies["imsj"].total
        for member, result in engine.credit_members(rows, {1: (0,), 2: (0,)})
    }
    assert totals == {1: Decimal("0.5"), 2: Decimal(1)}


def test_bulk_rows_of_one_member_must_come_together() -> None:
    talk = lecture("10:00", "11:00")
    rows = [(1, talk.code, None, micros("10:00"), None), (2, talk.code, None, micros("10:00"), None)]
    rows.append((1, talk.code, None, micros("10:30"), None))
    with pytest.raises(ValueError, match="order them by member"):
        list(CreditEngine([talk], [IMSJ]).credit_members(rows, {1: (0,), 2: (0,)}))


def test_member_whose_presence_overlaps_no_lecture_still_gets_a_result_of_zeros() -> None:
    talk = lecture("10:00", "11:00")
    rows = [(1, None, "2026-05", micros("12:00"), micros("13:00"))]
    [(member, result)] = CreditEngine([talk], [IMSJ]).credit_members(rows, {1: (0,)})
    assert member == 1
    assert result.policies["imsj"].total == 0
