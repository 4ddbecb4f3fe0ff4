from __future__ import annotations

import pytest

from cme_tracker.members.names import normalise, search_key, search_terms


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
