"""The office's pages of certificates of attendance, and the progress page of a job.

Each module holds one blueprint; the web set-up registers :data:`BLUEPRINTS`.
"""

from __future__ import annotations

from cme_tracker.certificates.views import admin

BLUEPRINTS = (admin.blueprint,)
