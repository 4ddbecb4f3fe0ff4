"""Certificate rendering speed: the renderer against a naive fresh WeasyPrint render per certificate.

``naive_render`` is the baseline tests/bench/certificates.py uses. Run: ``.venv/bin/python -m
tests.bench.certificate_render [COUNT]`` for the medians and the resident memory after COUNT renders.
"""

from __future__ import annotations

import json
import resource
import statistics
import sys
import time
from pathlib import Path

from cme_tracker.certificates.content import CertificateContent
from cme_tracker.certificates.render import (
    CertificateRenderer,
    check_certificate_glyphs,
    weasyprint_certificate,
)

SAMPLE = Path(__file__).parent.parent / "data" / "certificate_content.json"


def naive_render(content: CertificateContent) -> bytes:
    """The whole certificate laid out by a fresh WeasyPrint (fonts, stylesheets, layout, PDF/A writing)."""
    check_certificate_glyphs(content)
    return weasyprint_certificate(content)


def _member(number: int) -> CertificateContent:
    content: CertificateContent = json.loads(SAMPLE.read_text(encoding="utf-8"))
    content["serial"] = f"A-2026-11-{number:06d}-1"
    content["holder"]["member_no"] = f"{number:06d}"
    content["holder"]["name_romaji"] = f"TAKAHASHI Yoshiro{number}"
    return content


def _median_ms(render: object, count: int) -> float:
    times = []
    for number in range(count):
        content = _member(number)
        started = time.perf_counter()
        render(content)  # type: ignore[operator]
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def _rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(count: int = 2000) -> None:
    renderer = CertificateRenderer()
    for number in range(20):
        renderer.render(_member(number))
    print(f"naive WeasyPrint: {_median_ms(naive_render, 20):.1f} ms median over 20")
    print(f"renderer:         {_median_ms(renderer.render, 200):.1f} ms median over 200")
    print(f"RSS after warm-up and 200 renders: {_rss_mb():.0f} MB")
    for number in range(count):
        renderer.render(_member(number))
    print(f"RSS after {count} more renders: {_rss_mb():.0f} MB")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
