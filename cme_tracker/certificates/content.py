"""What a certificate of attendance certifies: one member's lectures and credits at one symposium.

The keys every kind shares are the kernel's :class:`~cme_tracker.documents.content.DocumentContent`; this adds
the kind and its subject, the symposium.
"""

from __future__ import annotations

from typing import Literal

from cme_tracker.documents.content import DocumentContent, LectureContent, SymposiumContent

CONTENT_FORMAT = "imsj-cme-certificate/1"


class CertificateContent(DocumentContent):
    """``issued_at`` is in the symposium's time zone."""

    kind: Literal["attendance"]
    symposium: SymposiumContent
    lectures: list[LectureContent]
