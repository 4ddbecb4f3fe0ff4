"""Transcripts as filed, without a database: several pages when the year is long, page numbers, QR code on
every page, only the holder's own glyphs, a loud failure for a character no font has."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from cme_tracker.fonts import MissingGlyph
from cme_tracker.transcripts.content import TranscriptContent
from cme_tracker.transcripts.render import TranscriptRenderer
from tests.integration.card_reading import pdf_fonts, pdf_page_count, pdf_text, qr_codes_on_page

SAMPLE = Path(__file__).parent.parent / "data" / "transcript_content.json"


def _content(**holder: Any) -> TranscriptContent:
    content: TranscriptContent = json.loads(SAMPLE.read_text(encoding="utf-8"))
    content["holder"].update(holder)  # type: ignore[typeddict-item]
    return content


def _long_year(symposia: int, lectures: int) -> TranscriptContent:
    content = _content()
    first = content["symposia"][0]
    content["symposia"] = []
    for number in range(1, symposia + 1):
        symposium = copy.deepcopy(first)
        symposium["code"] = f"2026-{number:02d}"
        symposium["title_ja"] = f"第{600 + number}回 学術講演会"
        symposium["lectures"] = [
            {**first["lectures"][0], "code": f"2026-{number:02d}-L{n}", "title_en": f"Lecture {number}.{n}"}
            for n in range(1, lectures + 1)
        ]
        content["symposia"].append(symposium)
    return content


@pytest.fixture(scope="module")
def renderer() -> TranscriptRenderer:
    return TranscriptRenderer()


def test_a_single_symposium_fits_one_page_with_totals_and_progress(renderer: TranscriptRenderer) -> None:
    content = _content()
    del content["symposia"][1:]
    pdf = renderer.render(content)
    assert pdf_page_count(pdf) == 1
    text = pdf_text(pdf)
    for expected in (
        "単 位 取 得 証 明 書",
        "髙橋 𠮷郎",
        "TAKAHASHI Yoshiro",
        "2026年度",
        "第600回 学術講演会",
    ):
        assert expected in text, expected
    assert "3年間の進捗" in text and "34.5" in text and "1/1" in text.replace(" ", "")
    assert all(font["emb"] == "yes" for font in pdf_fonts(pdf))


def test_a_long_year_continues_over_pages_in_order_with_a_qr_code_on_each(
    renderer: TranscriptRenderer,
) -> None:
    content = _long_year(6, 8)
    pdf = renderer.render(content)
    pages = pdf_page_count(pdf)
    assert pages >= 3
    text = pdf_text(pdf)
    positions = [text.index(f"Lecture {s}.{n}\n") for s in range(1, 7) for n in range(1, 9)]
    assert positions == sorted(positions)
    assert f"{pages}/{pages}" in text.replace(" ", "") and "（続き）" in text
    assert qr_codes_on_page(pdf, pages) == [content["verify_url"]]


def test_a_transcript_holds_none_of_another_members_name(renderer: TranscriptRenderer) -> None:
    first = renderer.render(_content(name_kanji="鈴木 葵", name_romaji="SUZUKI Aoi", former_family_name=None))
    assert "鈴木" not in pdf_text(renderer.render(_content(name_kanji="渡邊 翔", former_family_name=None)))
    assert "鈴木 葵" in pdf_text(first)


def test_a_character_no_font_has_stops_the_transcript_naming_it(renderer: TranscriptRenderer) -> None:
    with pytest.raises(MissingGlyph) as raised:
        renderer.render(_content(name_kanji="田\ue000 太郎"))
    assert "U+E000" in raised.value.message
