"""Certificates as filed: fonts embedded, text that copies out right, PDF/A-3b with its JSON, own glyphs only.

These render real PDFs and read them back with poppler, pikepdf and a QR decoder; no database needed.
"""

from __future__ import annotations

import copy
import json
import subprocess
from pathlib import Path
from typing import Any

import pikepdf
import pytest

from cme_tracker.certificates.content import CertificateContent
from cme_tracker.certificates.render import CertificateRenderer, check_certificate_glyphs
from cme_tracker.fonts import MissingGlyph
from tests.integration.card_reading import pdf_fonts, pdf_page_count, pdf_text, qr_codes_on_page

SAMPLE = Path(__file__).parent.parent / "data" / "certificate_content.json"


def _content(**holder: Any) -> CertificateContent:
    content: CertificateContent = json.loads(SAMPLE.read_text(encoding="utf-8"))
    content["holder"].update(holder)  # type: ignore[typeddict-item]
    return content


def _lectures(content: CertificateContent, count: int) -> CertificateContent:
    content = copy.deepcopy(content)
    first = content["lectures"][0]
    content["lectures"] = [
        {
            **first,
            "code": f"2026-11-L{n}",
            "title_ja": f"講演第{n}番 心不全治療",
            "title_en": f"Lecture number {n}",
        }
        for n in range(1, count + 1)
    ]
    return content


@pytest.fixture(scope="module")
def renderer() -> CertificateRenderer:
    return CertificateRenderer()


@pytest.fixture(scope="module")
def pdf(renderer: CertificateRenderer) -> bytes:
    return renderer.render(_content())


def _font_characters(pdf: bytes) -> set[str]:
    """Every character any font of the file can show, read from the fonts' ToUnicode CMaps."""
    characters: set[str] = set()
    with pikepdf.open(__import__("io").BytesIO(pdf)) as document:
        for obj in document.objects:
            if isinstance(obj, pikepdf.Dictionary) and obj.get("/Type") == "/Font" and "/ToUnicode" in obj:
                cmap = obj.ToUnicode.read_bytes().decode("latin-1")
                for line in cmap.splitlines():
                    parts = line.split()
                    if len(parts) == 2 and parts[0].startswith("<") and parts[1].startswith("<"):
                        characters.add(bytes.fromhex(parts[1].strip("<>")).decode("utf-16-be"))
    return characters


def test_every_font_is_embedded_the_japanese_one_included(pdf: bytes) -> None:
    fonts = pdf_fonts(pdf)
    assert all(font["emb"] == "yes" and font["uni"] == "yes" for font in fonts), fonts
    assert any("NotoSansCJKjp" in font["name"] or "IPAexGothic" in font["name"] for font in fonts)


def test_text_copies_out_with_the_names_serial_and_lectures(pdf: bytes) -> None:
    text = pdf_text(pdf)
    for expected in (
        "髙橋 𠮷郎",
        "TAKAHASHI Yoshiro",
        "山﨑",
        "A-2026-11-000123-1",
        "心不全治療の最前線",
        "Advances in heart failure therapy",
        "出 席 証 明 書",
        "医師 Physician",
        "512345",
    ):
        assert expected in text, expected


def test_pdfa_3b_identification_is_in_the_xmp_metadata(pdf: bytes) -> None:
    with pikepdf.open(__import__("io").BytesIO(pdf)) as document:
        meta = document.open_metadata()
        assert meta["pdfaid:part"] == "3"
        assert meta["pdfaid:conformance"] == "B"
        assert "A-2026-11-000123-1" in meta["dc:title"]
        assert str(document.docinfo.Title) == meta["dc:title"]
        assert "/OutputIntents" in document.Root
    info = subprocess.run(["pdfinfo", "-meta", "-"], input=pdf, capture_output=True, check=True).stdout
    assert b"pdfaid:part" in info


def test_certificate_json_is_attached_as_data_and_round_trips(pdf: bytes) -> None:
    with pikepdf.open(__import__("io").BytesIO(pdf)) as document:
        spec = document.attachments["certificate.json"]
        stream = spec.get_file()
        assert json.loads(stream.read_bytes()) == _content()
        assert stream.mime_type == "application/json"
        assert spec.obj.AFRelationship == pikepdf.Name.Data
        assert [entry.objgen for entry in document.Root.AF] == [spec.obj.objgen]


def test_the_qr_code_scans_as_the_verify_link(pdf: bytes) -> None:
    assert qr_codes_on_page(pdf, 1) == [_content()["verify_url"]]


def test_a_certificate_holds_none_of_another_members_name(renderer: CertificateRenderer) -> None:
    first = renderer.render(_content(name_kanji="鈴木 葵", name_romaji="SUZUKI Aoi", former_family_name=None))
    second = renderer.render(
        _content(name_kanji="渡邊 翔", name_romaji="WATANABE Åsa", former_family_name=None)
    )
    first_chars, second_chars = _font_characters(first), _font_characters(second)
    assert set("鈴木葵") <= first_chars and not set("鈴木葵") & second_chars
    assert set("渡邊翔Å") <= second_chars and not set("渡邊翔Å") & first_chars
    assert "鈴木" not in pdf_text(second)


def test_a_character_no_font_has_stops_the_certificate_naming_it(renderer: CertificateRenderer) -> None:
    content = _content(name_kanji="田\ue000 太郎")
    with pytest.raises(MissingGlyph) as raised:
        renderer.render(content)
    assert "U+E000" in raised.value.message and "000123" in raised.value.message
    assert [item["character"] for item in raised.value.details] == ["\ue000"]


def test_glyph_check_takes_the_latin_fallback_into_account() -> None:
    check_certificate_glyphs(_content(name_kanji=None, name_romaji="WOŹNIAK Łukasz Šťastný Erdős"))


def test_latin_only_holder_renders_in_latin_with_the_fallback_font(renderer: CertificateRenderer) -> None:
    content = _content(name_kanji=None, name_romaji="MÜLLER-WOŹNIAK Łukasz", former_family_name=None)
    pdf = renderer.render(content)
    assert "MÜLLER-WOŹNIAK Łukasz" in " ".join(pdf_text(pdf).split())
    assert any("DejaVuSans" in font["name"] for font in pdf_fonts(pdf))
    assert all(font["emb"] == "yes" for font in pdf_fonts(pdf))


def test_twelve_lectures_continue_on_a_second_page_in_order(renderer: CertificateRenderer) -> None:
    pdf = renderer.render(_lectures(_content(), 12))
    assert pdf_page_count(pdf) == 2
    text = pdf_text(pdf)
    positions = [text.index(f"Lecture number {n}\n") for n in range(1, 13)]
    assert positions == sorted(positions)
    assert text.count("A-2026-11-000123-1") >= 4, "serial and verify link on both pages"
    assert qr_codes_on_page(pdf, 2) == [_content()["verify_url"]]


def test_ten_lectures_fit_on_one_page(renderer: CertificateRenderer) -> None:
    assert pdf_page_count(renderer.render(_lectures(_content(), 10))) == 1


def test_a_long_title_wraps_within_its_column(renderer: CertificateRenderer) -> None:
    content = _lectures(_content(), 2)
    long_en = "A very long English lecture title " * 4
    content["lectures"][0]["title_en"] = long_en.strip()
    content["lectures"][0]["title_ja"] = "非常に長い日本語の演題名" * 4
    pdf = renderer.render(content)
    lines = pdf_text(pdf, layout=True).splitlines()
    wrapped = [line for line in lines if "A very long English" in line]
    assert len(wrapped) >= 2, "the title runs over several lines"
    assert all("60" not in line.split("English")[-1][:5] for line in wrapped)
    text = pdf_text(pdf)
    assert text.index("Lecture number 2") > text.index("lecture title")


def test_a_long_name_is_set_smaller_and_kept_whole(renderer: CertificateRenderer) -> None:
    name = "VON UND ZU HOHENLOHE-SCHILLINGSFÜRST Maximiliane Elisabeth"
    pdf = renderer.render(_content(name_kanji=None, name_romaji=name))
    assert " ".join(name.split()) in " ".join(pdf_text(pdf).split())
