"""The registry of the kinds of document the application issues: the one place that names them all.

The kernel (:mod:`cme_tracker.documents`) knows no kind, and no kind knows another; each kind's package
defines its :class:`~cme_tracker.documents.kinds.DocumentKind`. The composition roots that need to find a
kind by name or by job (the web app, the CLI's reissue command, the job runner) import :data:`KINDS` from
here and pass it on. Nothing registers itself on import: a new kind is one more entry below. The worker
processes of an issuing run need no registry, since they are handed the run's kind.
"""

from __future__ import annotations

from cme_tracker.certificates.issue import ATTENDANCE
from cme_tracker.documents.kinds import DocumentKinds
from cme_tracker.transcripts.issue import TRANSCRIPT

KINDS = DocumentKinds((ATTENDANCE, TRANSCRIPT))
