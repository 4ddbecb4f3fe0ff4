"""Reading member cards as people and scanners do: QR codes decoded from pixels, PDFs through poppler's tools.

Nothing here trusts the code under test: a QR code counts only when zxing-cpp decodes it from an image.
"""

from __future__ import annotations

import base64
import html
import re
import subprocess
from io import BytesIO
from urllib.parse import unquote

import zxingcpp
from PIL import Image

_DARK_PATH = re.compile(r"<path[^>]*\sstroke=[\"'][^>]*\sd=[\"']([^\"']+)[\"']")
_COMMAND = re.compile(r"([MmHhVv])\s*(-?[\d.]+)(?:[\s,]+(-?[\d.]+))?")
_VIEW_BOX = re.compile(r"viewBox=[\"']0 0 (\d+) (\d+)[\"']")


def pdf_text(pdf: bytes, *, layout: bool = False) -> str:
    """The text as ``pdftotext`` extracts it; with ``layout``, lines run across the columns of cards."""
    options = ["-layout"] if layout else []
    return subprocess.run(
        ["pdftotext", *options, "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode()


def pdf_page_count(pdf: bytes) -> int:
    info = subprocess.run(["pdfinfo", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    match = re.search(r"^Pages:\s+(\d+)$", info, re.MULTILINE)
    assert match is not None, info
    return int(match.group(1))


def pdf_fonts(pdf: bytes) -> list[dict[str, str]]:
    """``pdffonts`` rows: name, type and whether the font is embedded (``emb``)."""
    output = subprocess.run(["pdffonts", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    rows = []
    for line in output.splitlines()[2:]:
        name, *_middle, emb, sub, uni, _object, _generation = line.split()
        rows.append({"name": name, "emb": emb, "sub": sub, "uni": uni})
    return rows


def qr_codes_on_page(pdf: bytes, page: int, dpi: int = 200) -> list[str]:
    """Every QR code a scanner finds on one page printed at ``dpi``."""
    png = subprocess.run(
        ["pdftoppm", "-png", "-r", str(dpi), "-f", str(page), "-l", str(page), "-"],
        input=pdf,
        capture_output=True,
        check=True,
    ).stdout
    with Image.open(BytesIO(png)) as image:
        results = zxingcpp.read_barcodes(image.convert("L"), formats=zxingcpp.BarcodeFormat.QRCode)
    return [result.text for result in results]


def qr_in_svg(svg: str) -> str:
    """Draw the dark modules of a segno SVG path (moves and horizontal runs) and decode the picture."""
    view_box = _VIEW_BOX.search(svg)
    path = _DARK_PATH.search(svg)
    assert view_box is not None and path is not None, svg[:200]
    width, height = int(view_box.group(1)), int(view_box.group(2))
    scale = 8
    image = Image.new("L", (width * scale, height * scale), 255)
    x = y = 0.0
    for command, first, second in _COMMAND.findall(path.group(1)):
        if command == "M":
            x, y = float(first), float(second)
        elif command == "m":
            x, y = x + float(first), y + float(second)
        elif command == "h":
            end = x + float(first)
            row = int(y)
            for column in range(int(x), int(end)):
                image.paste(0, (column * scale, row * scale, (column + 1) * scale, (row + 1) * scale))
            x = end
        else:
            raise AssertionError(f"unexpected path command {command} in the QR code's SVG")
    results = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
    assert len(results) == 1, f"{len(results)} QR codes found"
    return results[0].text


def qr_in_data_uri(uri: str) -> str:
    """The text of the QR code in an ``image/svg+xml`` data URI, as a page shows it."""
    head, _, data = uri.partition(",")
    assert head.startswith("data:image/svg+xml"), head
    svg = base64.b64decode(data).decode() if head.endswith(";base64") else unquote(data)
    return qr_in_svg(svg)


def qr_of_page(page: str) -> str:
    """The QR code of the one member card a web page shows."""
    match = re.search(r'<img class="member-card-qr" src="([^"]+)"', page)
    assert match is not None, "the page shows no member card QR code"
    return qr_in_data_uri(html.unescape(match.group(1)))
