"""Card sheets as printed: the Japanese font embedded, names and numbers in the text, scannable QR codes.

These render real PDFs with WeasyPrint and read them back with poppler and a QR decoder, as a printer and a
desk scanner would; they need no database.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

import pytest

from cme_tracker.members import card_sheet
from cme_tracker.members.card_sheet import (
    CARDS_PER_PAGE,
    CardDesignError,
    DesignFetcher,
    MissingGlyph,
    find_card_font,
    member_card_sheet,
    render_card_sheet,
)
from cme_tracker.members.cards import card_face, card_payload
from cme_tracker.members.models import Member
from cme_tracker.resources import resource_dir
from tests.integration.card_reading import pdf_fonts, pdf_page_count, pdf_text, qr_codes_on_page

SECRET = "sheet-test-secret"


def _member(member_no: str, family: str, given: str, romaji: tuple[str, str] | None, **extra: Any) -> Member:
    """A member as the importer stores them; ``romaji`` None means a name in Latin script only."""
    latin_only = romaji is None
    values: dict[str, Any] = {
        "member_no": member_no,
        "profession": "physician",
        "family_name": family,
        "given_name": given,
        "family_name_kana": None if latin_only else "カナ",
        "given_name_kana": None if latin_only else "カナ",
        "family_name_romaji": family if romaji is None else romaji[0],
        "given_name_romaji": given if romaji is None else romaji[1],
        "card_serial": 1,
    }
    values.update(extra)
    return Member(**values)


MEMBERS = [
    _member("A000001", "髙橋", "一郎", ("Takahashi", "Ichiro")),
    _member(
        "A000002", "𠮷田", "花子", ("Yoshida", "Hanako"), profession="dentist", former_family_name="山﨑"
    ),
    _member("A000003", "山﨑", "直子", ("Yamazaki", "Naoko")),
    _member("DE-0004", "Müller", "Hans", None, profession="other"),
    *(_member(f"A{number:06d}", "佐藤", f"{number}郎", ("Sato", f"Jiro{number}")) for number in range(5, 12)),
]
"""Eleven members: a full first page and one card on the second."""


@pytest.fixture(scope="module")
def sheet() -> bytes:
    return member_card_sheet(SECRET, MEMBERS)


def test_japanese_font_is_embedded_and_is_the_only_font(sheet: bytes) -> None:
    fonts = pdf_fonts(sheet)
    assert len(fonts) == 1, fonts
    font = fonts[0]
    assert font["emb"] == "yes"
    assert font["uni"] == "yes"
    assert font["name"].split("+", 1)[1] in ("NotoSansCJKjp-Regular", "IPAexGothic")


def test_text_has_kanji_and_romaji_names_and_member_numbers(sheet: bytes) -> None:
    text = pdf_text(sheet)
    for name in ("髙橋 一郎", "𠮷田 花子", "山﨑 直子", "TAKAHASHI Ichiro", "YOSHIDA Hanako", "Hans Müller"):
        assert name in text
    for member in MEMBERS:
        assert member.member_no in text
    assert "旧姓 山﨑" in text
    assert "歯科医師" in text and "Dentist" in text
    assert "国際医学会" in text and "International Medical Society of Japan" in text


def test_latin_only_member_gets_no_romaji_line_of_their_own(sheet: bytes) -> None:
    assert "MÜLLER Hans" not in pdf_text(sheet)


def test_pages_hold_ten_cards_each(sheet: bytes) -> None:
    assert CARDS_PER_PAGE == 10
    assert pdf_page_count(sheet) == 2
    assert pdf_page_count(member_card_sheet(SECRET, MEMBERS[:10])) == 1
    assert pdf_page_count(member_card_sheet(SECRET, MEMBERS[:1])) == 1


def test_every_qr_code_on_a_page_scans_as_its_members_signed_payload(sheet: bytes) -> None:
    first_page = sorted(qr_codes_on_page(sheet, 1))
    assert first_page == sorted(card_payload(SECRET, member) for member in MEMBERS[:10])
    assert qr_codes_on_page(sheet, 2) == [card_payload(SECRET, MEMBERS[10])]


def test_a_character_missing_from_the_font_stops_the_sheet_with_a_clear_error() -> None:
    gaiji = _member("A000099", "田\ue000", "太郎", ("Tanaka", "Taro"))
    with pytest.raises(MissingGlyph) as raised:
        member_card_sheet(SECRET, [*MEMBERS[:2], gaiji])
    assert "U+E000" in raised.value.message
    assert "A000099" in raised.value.message
    assert [item["member_no"] for item in raised.value.details] == ["A000099"]


def test_rendering_logs_no_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="weasyprint"):
        member_card_sheet(SECRET, MEMBERS[:3])
    assert [record.getMessage() for record in caplog.records if record.name.startswith("weasyprint")] == []


def test_fetcher_hands_out_the_design_and_the_font_only(tmp_path: Path) -> None:
    design = resource_dir("templates") / "cards"
    font = find_card_font()
    fetcher = DesignFetcher(design, font.path)
    assert fetcher.fetch((design / "cut-marks.svg").as_uri()).read().startswith(b"<svg")
    assert fetcher.fetch(font.path.as_uri()).read(4) in (b"ttcf", b"OTTO", b"\x00\x01\x00\x00")
    secret = tmp_path / "secret.txt"
    secret.write_text("not for the PDF")
    refused = [
        "https://example.org/logo.png",
        "http://127.0.0.1:5000/static/css/site.css",
        secret.as_uri(),
        (design / ".." / "base.html").as_uri(),
        "file://otherhost/etc/hostname",
    ]
    for url in refused:
        with pytest.raises(PermissionError):
            fetcher.fetch(url)


def test_a_design_that_reaches_outside_its_folder_stops_the_rendering(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    design = resource_dir("templates") / "cards"
    copy = tmp_path / "cards"
    shutil.copytree(design, copy)
    with (copy / "sheet.css").open("a", encoding="utf-8") as css:
        css.write('\n.card { background: url("https://example.org/tracker.png"); }\n')
    monkeypatch.setattr(card_sheet, "_design_folder", lambda: copy)
    with pytest.raises(CardDesignError, match=r"example\.org"):
        member_card_sheet(SECRET, MEMBERS[:1])


def test_cards_fill_the_sheet_row_by_row_in_the_order_given() -> None:
    faces = [card_face(SECRET, member) for member in reversed(MEMBERS[:3])]
    text = pdf_text(render_card_sheet(faces), layout=True)
    assert text.index("A000003") < text.index("A000002") < text.index("A000001")


@pytest.mark.slow
def test_a_sheet_for_320_members_is_one_document_of_32_pages_with_the_font_embedded_once() -> None:
    members = [
        _member(f"B{number:06d}", "渡邊", f"{number}", ("Watanabe", f"M{number}")) for number in range(320)
    ]
    pdf = member_card_sheet(SECRET, members)
    assert pdf_page_count(pdf) == 32
    assert len(pdf) < 2_000_000, "the font must be embedded once, as a subset"
    text = pdf_text(pdf)
    assert "B000000" in text and "B000319" in text
