"""The fast renderer and the reference design agree: one geometry (cme_tracker/documents/geometry.py) places
the text of both, so each anchor (the holder's name, the symposium or year, every lecture title, the totals,
the serial) starts within 1 mm of the same point in the real pipeline's PDF and in WeasyPrint's rendering of
the full HTML design. Positions are read back with poppler's ``pdftotext -bbox-layout``."""

from __future__ import annotations

import copy
import json
import subprocess
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest

from cme_tracker.certificates.content import CertificateContent
from cme_tracker.certificates.render import CertificateRenderer, weasyprint_certificate
from cme_tracker.documents.geometry import PT
from cme_tracker.transcripts.content import TranscriptContent
from cme_tracker.transcripts.render import TranscriptRenderer, weasyprint_transcript

DATA = Path(__file__).parent.parent / "data"
TOLERANCE = 1.0
"""Millimetres."""
_XHTML = "{http://www.w3.org/1999/xhtml}"

Position = tuple[int, float, float]
"""Page number and the top left corner of the anchor's first word, in mm from the sheet's top left."""


def _lines(pdf: bytes) -> list[tuple[int, list[tuple[str, float, float]]]]:
    """Every text line as poppler reads it: its page and its words with their top left corners in mm."""
    xml = subprocess.run(
        ["pdftotext", "-bbox-layout", "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout
    lines = []
    for number, page in enumerate(ElementTree.fromstring(xml).iter(f"{_XHTML}page"), start=1):
        for line in page.iter(f"{_XHTML}line"):
            words = [
                (word.text or "", float(word.get("xMin", 0)) * PT, float(word.get("yMin", 0)) * PT)
                for word in line.iter(f"{_XHTML}word")
            ]
            lines.append((number, words))
    return lines


def _positions(pdf: bytes, anchor: str) -> list[Position]:
    """Where each occurrence of ``anchor`` starts, in reading order (spaces ignored: poppler splits words
    of tracked Japanese text)."""
    key, found = anchor.replace(" ", ""), []
    for page, words in _lines(pdf):
        joined, starts = "", []
        for text, _, _ in words:
            starts.append(len(joined))
            joined += text
        at = joined.find(key)
        while at >= 0:
            first = max(index for index, start in enumerate(starts) if start <= at)
            found.append((page, words[first][1], words[first][2]))
            at = joined.find(key, at + len(key))
    return found


def _assert_same_places(fast: bytes, reference: bytes, anchors: Iterable[str]) -> None:
    misplaced = []
    for anchor in dict.fromkeys(anchors):
        in_fast, in_reference = _positions(fast, anchor), _positions(reference, anchor)
        assert in_fast, f"{anchor!r} is not in the fast renderer's PDF"
        assert len(in_fast) == len(in_reference), (anchor, in_fast, in_reference)
        for (page, x, y), (ref_page, ref_x, ref_y) in zip(in_fast, in_reference, strict=True):
            if page != ref_page or abs(x - ref_x) > TOLERANCE or abs(y - ref_y) > TOLERANCE:
                misplaced.append(
                    (anchor, (page, round(x, 2), round(y, 2)), (ref_page, round(ref_x, 2), round(ref_y, 2)))
                )
    assert not misplaced, misplaced


def _certificate() -> CertificateContent:
    content: CertificateContent = json.loads((DATA / "certificate_content.json").read_text(encoding="utf-8"))
    return content


def _transcript() -> TranscriptContent:
    content: TranscriptContent = json.loads((DATA / "transcript_content.json").read_text(encoding="utf-8"))
    return content


def _shared_anchors(content: Any) -> list[str]:
    holder = content["holder"]
    anchors = [holder["name_kanji"] or holder["name_romaji"], holder["name_romaji"], holder["member_no"]]
    anchors += [f"No. {content['serial']}", "証明書番号 Serial No.", "発行日 Date of issue"]
    for policy in content["policies"]:
        label_start = " ".join(policy["label"].split()[:2])  # a long label wraps
        anchors += [label_start, policy["version"], f"{policy['total']} {policy['unit']}"]
    return anchors


def _lecture_anchors(lectures: Iterable[Any]) -> list[str]:
    anchors = []
    for lecture in lectures:
        anchors += [lecture["title_ja"], f"{lecture['starts_at']}–{lecture['ends_at']}"]
        anchors += [lecture["title_en"]] if lecture["title_en"] else []
    return anchors


def _twelve_lectures(content: CertificateContent) -> CertificateContent:
    """More lectures than a page holds: the table continues on a second page under its header."""
    content = copy.deepcopy(content)
    first = content["lectures"][0]
    content["lectures"] = [
        {
            **first,
            "code": f"2026-11-L{n}",
            "title_ja": f"講演第{n}番 心不全治療",
            "title_en": f"Lecture number {n}",
        }
        for n in range(1, 13)
    ]
    return content


@pytest.fixture(scope="module")
def certificates() -> CertificateRenderer:
    return CertificateRenderer()


@pytest.mark.parametrize("lectures", ["sample", "twelve"])
def test_the_certificate_text_sits_where_the_reference_design_puts_it(
    certificates: CertificateRenderer, lectures: str
) -> None:
    content = _certificate() if lectures == "sample" else _twelve_lectures(_certificate())
    symposium = content["symposium"]
    anchors = [*_shared_anchors(content), symposium["title_ja"], symposium["title_en"], "取得単位の合計"]
    anchors += _lecture_anchors(content["lectures"])
    _assert_same_places(certificates.render(content), weasyprint_certificate(content), anchors)


def test_the_transcript_text_sits_where_the_reference_design_puts_it() -> None:
    content = _transcript()
    anchors = [*_shared_anchors(content), f"{content['year']['year']}年度", "年間取得単位の合計"]
    for symposium in content["symposia"]:
        anchors += [symposium["title_ja"], symposium["title_en"], *_lecture_anchors(symposium["lectures"])]
    anchors += [progress["label_ja"] for progress in content["progress"]]
    _assert_same_places(TranscriptRenderer().render(content), weasyprint_transcript(content), anchors)
