from __future__ import annotations

import pytest

from cme_tracker.members.models import Member
from cme_tracker.members.names import (
    display_name,
    has_japanese_name,
    normalise,
    romaji_name,
    search_key,
    search_terms,
)


@pytest.mark.parametrize("spelling", ["ﾀｶﾊｼ", "タカハシ", "たかはし", "ﾀｶﾊｼ　", " たかはし "])
def test_half_width_katakana_katakana_and_hiragana_normalise_alike(spelling: str) -> None:
    assert normalise(spelling) == "たかはし"


def test_voiced_half_width_katakana_combine_into_one_kana() -> None:
    assert normalise("ﾖｼﾀﾞ") == normalise("ヨシダ") == "よしだ"


@pytest.mark.parametrize("spelling", ["ＴＡＫＡＨＡＳＨＩ", "TAKAHASHI", "Takahashi", "ｔａｋａｈａｓｈｉ"])
def test_romaji_of_any_width_and_case_normalises_to_lower_case(spelling: str) -> None:
    assert normalise(spelling) == "takahashi"


@pytest.mark.parametrize(("rare", "common"), [("髙橋", "高橋"), ("𠮷田", "吉田"), ("山﨑", "山崎")])
def test_rare_kanji_are_preserved_not_folded_into_common_ones(rare: str, common: str) -> None:
    assert normalise(rare) == rare
    assert normalise(rare) != normalise(common)


def test_accents_of_latin_letters_are_dropped_but_kana_voicing_marks_stay() -> None:
    assert normalise("Ōno") == "ono"
    assert normalise("Müller") == "muller"
    assert normalise("ガッコウ") == "がっこう"


def test_runs_of_spaces_of_any_width_collapse() -> None:
    assert normalise("Anna\u3000  Maria ") == "anna maria"


def test_search_key_holds_every_name_normalised_and_skips_missing_ones() -> None:
    key = search_key("髙橋", "一郎", "ﾀｶﾊｼ", None, "TAKAHASHI", "", "山田")
    assert key == "髙橋 | 一郎 | たかはし | takahashi | 山田"


def test_a_bar_in_a_name_cannot_fake_the_separator_of_the_key() -> None:
    assert search_key("a | b") == "a b"


def test_search_terms_are_the_normalised_words_of_a_query() -> None:
    assert search_terms("  ﾀｶﾊｼ  ＩＣＨＩＲＯ ") == ["たかはし", "ichiro"]


def test_a_japanese_name_is_shown_family_name_first_and_a_latin_one_given_name_first() -> None:
    assert display_name("山田", "太郎", "ヤマダ") == "山田 太郎"
    assert display_name("山田", "太郎", None) == "山田 太郎"  # kanji without kana
    assert display_name("Smith", "Anna", None) == "Anna Smith"
    assert display_name("Smith", "Anna", "スミス") == "Smith Anna"  # kana make it a Japanese name
    assert romaji_name("Yamada", "Taro") == "YAMADA Taro"
    assert (has_japanese_name("山田", None), has_japanese_name("Smith", None)) == (True, False)


@pytest.mark.parametrize(
    ("family", "given", "kana", "family_romaji", "given_romaji"),
    [("山田", "太郎", "ヤマダ", "Yamada", "Taro"), ("Smith", "Anna", None, "Smith", "Anna")],
)
def test_the_member_model_shows_names_by_the_same_rules(
    family: str, given: str, kana: str | None, family_romaji: str, given_romaji: str
) -> None:
    """The check-in shows names from plain rows with these functions; the model must agree with it."""
    member = Member(
        family_name=family,
        given_name=given,
        family_name_kana=kana,
        family_name_romaji=family_romaji,
        given_name_romaji=given_romaji,
    )
    assert member.name == display_name(family, given, kana)
    assert member.name_romaji == romaji_name(family_romaji, given_romaji)
    assert member.has_japanese_name == has_japanese_name(family, kana)
