"""What a member card shows and encodes, and the font check that keeps a name from printing as empty boxes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import segno

from cme_tracker.members.card_sheet import (
    CardFont,
    CardFontMissing,
    FontCandidate,
    MissingGlyph,
    check_glyphs,
    find_card_font,
)
from cme_tracker.members.cards import (
    CardFace,
    UnknownCard,
    card_face,
    card_payload,
    card_qr,
    member_for_card,
    read_card,
)
from cme_tracker.members.models import Member

SECRET = "unit-test-secret"


def _member(**overrides: Any) -> Member:
    values: dict[str, Any] = {
        "member_no": "A000123",
        "profession": "physician",
        "family_name": "髙橋",
        "given_name": "一郎",
        "family_name_kana": "タカハシ",
        "given_name_kana": "イチロウ",
        "family_name_romaji": "Takahashi",
        "given_name_romaji": "Ichiro",
        "card_serial": 1,
    }
    values.update(overrides)
    return Member(**values)


def _face(member_no: str = "A000123", name: str = "山田 太郎", **overrides: Any) -> CardFace:
    values: dict[str, Any] = {
        "member_no": member_no,
        "name": name,
        "name_latin": "YAMADA Taro",
        "former_family_name": None,
        "profession_ja": "医師",
        "profession_en": "Physician",
        "payload": "IMSJ-X-1-ABC",
    }
    values.update(overrides)
    return CardFace(**values)


def _font(characters: str) -> CardFont:
    """A stand-in font that has exactly ``characters`` and the fixed words of the design."""
    design = "国際医学会 International Medical Society of Japan 会員証 Member card 番号 No. 旧姓 formerly"
    return CardFont(
        Path("/fonts/test.otf"), 0, "fonts-test", "TestFont", frozenset(map(ord, design + characters))
    )


def test_kanji_name_is_printed_with_its_romaji_below() -> None:
    face = card_face(SECRET, _member(former_family_name="山﨑"))
    assert face.name == "髙橋 一郎"
    assert face.name_latin == "TAKAHASHI Ichiro"
    assert face.former_family_name == "山﨑"
    assert (face.profession_ja, face.profession_en) == ("医師", "Physician")


def test_latin_only_name_is_printed_once_given_name_first() -> None:
    member = _member(
        family_name="Müller",
        given_name="Hans",
        family_name_kana=None,
        given_name_kana=None,
        family_name_romaji="Mueller",
        given_name_romaji="Hans",
        profession="dentist",
    )
    face = card_face(SECRET, member)
    assert face.name == "Hans Müller"
    assert face.name_latin is None
    assert face.profession_en == "Dentist"


def test_card_carries_the_signed_payload_of_the_members_current_serial() -> None:
    member = _member(card_serial=3)
    face = card_face(SECRET, member)
    assert face.payload == card_payload(SECRET, member)
    assert read_card(SECRET, face.payload).serial == 3


def test_qr_code_holds_the_payload_with_at_least_medium_error_correction() -> None:
    payload = card_payload(SECRET, _member())
    qr = card_qr(payload)
    assert not qr.is_micro
    assert qr.error in ("M", "Q", "H")
    assert qr.matrix == segno.make_qr(payload, error=qr.error.lower(), boost_error=False).matrix


def test_short_payload_still_gets_a_full_size_qr_code_that_phones_read() -> None:
    assert not card_qr("IMSJ-1-1-A").is_micro


def test_payload_of_a_replaced_card_is_refused_as_replaced() -> None:
    member = _member(card_serial=1)
    old = card_payload(SECRET, member)
    member.card_serial = 2
    with pytest.raises(UnknownCard) as refused:
        member_for_card(SECRET, old, member)
    assert refused.value.code == "card_replaced"


def test_glyph_check_passes_when_the_font_has_every_character() -> None:
    check_glyphs([_face()], _font("山田太郎 YAMADTaro医師Physician A0123"))


def test_glyph_check_lists_every_missing_character_with_its_member() -> None:
    font = _font("山田太郎 YAMADTaro医師Physician A0123456")
    faces = [_face("A000123", "𠮷田 太郎"), _face("A000456", "山田 太\ue000")]
    with pytest.raises(MissingGlyph) as raised:
        check_glyphs(faces, font)
    error = raised.value
    assert error.http_status == 422
    assert [(item["member_no"], item["character"], item["code_point"]) for item in error.details] == [
        ("A000123", "𠮷", "U+20BB7"),
        ("A000456", "\ue000", "U+E000"),
    ]
    assert "U+20BB7" in error.message
    assert "A000123" in error.message
    assert "TestFont" in error.message
    assert "fonts-test" in error.message


def test_glyph_check_reads_decomposed_accents_as_the_letter_shaping_will_draw() -> None:
    font = _font("山田太郎 YAMADTaro医師Physician A0123 Ōno")
    check_glyphs([_face(name="O\u0304no", name_latin=None)], font)


def test_glyph_check_ignores_variation_selectors_a_font_may_not_list() -> None:
    font = _font("山田太郎葛 YAMADTaro医師Physician A0123")
    check_glyphs([_face(name="葛\U000e0100田 太郎")], font)


def test_glyph_check_covers_the_romaji_former_name_and_number_too() -> None:
    font = _font("山田太郎 YAMADTaro医師Physician A0123")
    with pytest.raises(MissingGlyph) as raised:
        check_glyphs([_face(name_latin="YAMADA Tarō", former_family_name="佐藤", member_no="A0123-Z")], font)
    assert {item["character"] for item in raised.value.details} == {"ō", "佐", "藤", "-", "Z"}


def test_without_a_japanese_font_the_error_names_the_packages_to_install(tmp_path: Path) -> None:
    candidates = [
        FontCandidate(tmp_path / "missing.ttc", 0, "fonts-noto-cjk"),
        FontCandidate(tmp_path / "missing.ttf", 0, "fonts-ipaexfont-gothic"),
    ]
    with pytest.raises(CardFontMissing, match="fonts-noto-cjk or fonts-ipaexfont-gothic"):
        find_card_font(candidates)
