"""Composing a document file: the shared frame's PDF/A skeleton with one document's pages and data.

The frame (border, masthead, attestation, seal; its own font subset of the fixed words) is laid out once by
WeasyPrint as a PDF/A-3b document. Each certificate starts from a fresh copy of it, draws its own part over
the frame on as many pages as it needs, adds the fonts subset to its own text and attaches its JSON: so a
file holds the frame's glyphs and its own, never another member's.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from datetime import UTC, datetime
from io import BytesIO
from xml.sax.saxutils import escape

import pikepdf

from cme_tracker.documents.typeset import Operators, Typesetter

ATTACHMENT_NAME = "certificate.json"


class CertificateFrame:
    """The frame's one-page PDF/A document, from which every certificate file is made."""

    def __init__(
        self,
        frame_pdf: bytes,
        frame_title: str,
        attachment_description: str = "The certified content (imsj-cme-certificate JSON)",
    ) -> None:
        self._pdf = frame_pdf
        self._description = attachment_description
        self._title = escape(frame_title).encode()
        with pikepdf.open(BytesIO(frame_pdf)) as frame:
            if len(frame.pages) != 1:
                raise ValueError(f"a document frame must be one page, not {len(frame.pages)}")
            self._xmp = frame.Root.Metadata.read_bytes()
        if self._title not in self._xmp:
            raise ValueError("the frame's XMP metadata does not carry its title")

    def document(
        self,
        pages: Sequence[Sequence[Operators]],
        typesetter: Typesetter,
        *,
        attachment: bytes,
        issued: datetime,
        title: str,
    ) -> bytes:
        """The certificate: each of ``pages`` (content streams) drawn over the frame, fonts, data, title."""
        with pikepdf.open(BytesIO(self._pdf)) as pdf:
            frame = pdf.pages[0].obj
            frame_contents = _streams(frame.Contents)
            resources = frame.Resources
            if pikepdf.Name.Font not in resources:
                resources.Font = pikepdf.Dictionary()
            for name, font in typesetter.font_resources(pdf).items():
                resources.Font[name] = font
            save, restore = pdf.make_stream(b"q\n"), pdf.make_stream(b"\nQ\n")
            for number, operators in enumerate(pages):
                page = frame if number == 0 else _copy_page(pdf, frame)
                content = _flate(pdf, typesetter.encode(operators))
                page.Contents = pikepdf.Array([save, *frame_contents, restore, content])
            _attach(pdf, attachment, issued, self._description)
            self._set_title(pdf, title)
            out = BytesIO()
            pdf.save(out)
        return out.getvalue()

    def _set_title(self, pdf: pikepdf.Pdf, title: str) -> None:
        """The title in the XMP and the document information alike, as PDF/A requires."""
        pdf.docinfo.Title = title
        xmp = self._xmp.replace(self._title, escape(title).encode())
        pdf.Root.Metadata = pdf.make_stream(xmp, Type=pikepdf.Name.Metadata, Subtype=pikepdf.Name.XML)


def _flate(pdf: pikepdf.Pdf, data: bytes) -> pikepdf.Object:
    stream = pikepdf.Stream(pdf, zlib.compress(data, 6))
    stream.Filter = pikepdf.Name.FlateDecode
    return stream


def _streams(contents: pikepdf.Object) -> list[pikepdf.Object]:
    return list(contents) if isinstance(contents, pikepdf.Array) else [contents]


def _copy_page(pdf: pikepdf.Pdf, frame: pikepdf.Dictionary) -> pikepdf.Dictionary:
    """Another page with the frame's size and resources (the fonts added later are shared by all pages)."""
    page = pikepdf.Dictionary(
        {key: value for key, value in frame.items() if key not in ("/Parent", "/Contents")}
    )
    pdf.pages.append(pikepdf.Page(pdf.make_indirect(page)))
    return pdf.pages[-1].obj


def _attach(pdf: pikepdf.Pdf, data: bytes, issued: datetime, description: str) -> None:
    """``certificate.json`` as PDF/A-3 wants it: MIME type, dates, AFRelationship /Data, listed in /AF."""
    stamp = issued.astimezone(UTC).strftime("D:%Y%m%d%H%M%SZ")
    spec = pikepdf.AttachedFileSpec(
        pdf,
        data,
        description=description,
        filename=ATTACHMENT_NAME,
        mime_type="application/json",
        creation_date=stamp,
        mod_date=stamp,
        relationship=pikepdf.Name.Data,
    )
    pdf.attachments[ATTACHMENT_NAME] = spec
    pdf.Root.AF = pikepdf.Array([pdf.attachments[ATTACHMENT_NAME].obj])
