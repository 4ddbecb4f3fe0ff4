"""The document pages of every kind: public verification, and the member's own documents.

Each module holds one blueprint; the web set-up registers :data:`BLUEPRINTS`.
"""

from __future__ import annotations

from cme_tracker.documents.views import member, public

BLUEPRINTS = (public.blueprint, member.blueprint)
