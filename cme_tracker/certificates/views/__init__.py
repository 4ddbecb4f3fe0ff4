"""The certificate pages: public verification, the member's own certificates, and the office's issuing pages.

Each module holds one blueprint; the web set-up registers :data:`BLUEPRINTS`.
"""

from __future__ import annotations

from cme_tracker.certificates.views import admin, member, public

BLUEPRINTS = (public.blueprint, member.blueprint, admin.blueprint)
