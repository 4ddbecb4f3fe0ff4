"""The document kernel: issuing, storing, signing, verifying and typesetting signed PDF documents of any kind.

The kinds (certificates of attendance, yearly transcripts) live in packages of their own and plug in through
:mod:`cme_tracker.documents.kinds`; the kernel imports none of them.
"""
