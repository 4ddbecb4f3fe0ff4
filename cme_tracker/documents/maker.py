"""Rendering, signing and storing documents, in this process or in a pool of worker processes.

Both the renderers (each kind's frame laid out by WeasyPrint) and the signer warm up slowly, so a process
builds its maker once and reuses it for every later document. Worker processes are spawned: each receives
the setup and the run's kind as arguments and builds its own maker. A worker that dies (killed, out of memory)
breaks the pool, which ends the run with :class:`RenderingProcessDied` rather than waiting for it forever.
"""

from __future__ import annotations

import functools
import multiprocessing
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import ExitStack
from typing import Any

from cme_tracker.documents.content import DocumentContent
from cme_tracker.documents.identity import load_signing_identity
from cme_tracker.documents.kinds import DocumentKind
from cme_tracker.documents.render import DocumentRenderer
from cme_tracker.documents.setup import DocumentSetup
from cme_tracker.documents.signing import DocumentSigner
from cme_tracker.documents.storage import CertificateStore, StoredFile
from cme_tracker.errors import DomainError

Pipeline = Callable[[Iterable[tuple[str, DocumentContent]]], list[StoredFile]]
"""Makes the files of ``(subject, content)`` tasks, in order."""


class RenderingProcessDied(DomainError):
    """A worker process of the pool died: the documents of its chunk are neither made nor recorded."""

    code = "rendering_process_died"
    http_status = 503


class DocumentMaker:
    """Renders, signs and stores documents; built once per process and reused, since both warm up slowly.

    Each kind's renderer is built on the first document of that kind.
    """

    def __init__(self, setup: DocumentSetup) -> None:
        identity = load_signing_identity(setup.instance_path, setup.signing_p12, setup.signing_password)
        self.signer = DocumentSigner(identity)
        self.store = CertificateStore(setup.instance_path)
        self._renderers: dict[str, DocumentRenderer[Any]] = {}

    def renderer_for(self, kind: DocumentKind[Any]) -> DocumentRenderer[Any]:
        renderer = self._renderers.get(kind.name.value)
        if renderer is None:
            renderer = self._renderers[kind.name.value] = kind.renderer()
        return renderer

    def make(self, kind: DocumentKind[Any], subject: str, content: DocumentContent) -> StoredFile:
        signed = self.signer.sign(self.renderer_for(kind).render(content))
        return self.store.write(subject, content["serial"], signed)


@functools.lru_cache(maxsize=2)
def document_maker(setup: DocumentSetup) -> DocumentMaker:
    """This process's maker for ``setup``: built on first use, then reused by every later document."""
    return DocumentMaker(setup)


_process_maker: tuple[DocumentMaker, DocumentKind[Any]] | None = None


def _start_worker(setup: DocumentSetup, kind: DocumentKind[Any]) -> None:
    global _process_maker
    _process_maker = (DocumentMaker(setup), kind)


def _make_in_worker(task: tuple[str, DocumentContent]) -> StoredFile:
    assert _process_maker is not None, "the pool initializer builds the maker"
    maker, kind = _process_maker
    return maker.make(kind, *task)


def document_pipeline(stack: ExitStack, setup: DocumentSetup, kind: DocumentKind[Any], jobs: int) -> Pipeline:
    """Render, sign and store in this process (``jobs`` 1) or in a pool of ``jobs`` worker processes."""
    if jobs <= 1:
        maker = document_maker(setup)
        return lambda tasks: [maker.make(kind, *task) for task in tasks]
    pool = stack.enter_context(
        ProcessPoolExecutor(
            jobs,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(setup, kind),
        )
    )

    def make(tasks: Iterable[tuple[str, DocumentContent]]) -> list[StoredFile]:
        try:
            return list(pool.map(_make_in_worker, tasks, chunksize=2))
        except BrokenProcessPool as error:
            raise RenderingProcessDied(
                "a rendering process stopped (killed or out of memory) and the run ended; the documents "
                "recorded so far are kept: run it again to issue the rest"
            ) from error

    return make
