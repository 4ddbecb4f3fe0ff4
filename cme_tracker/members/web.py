"""What the pages that hand out member cards share: a sheet of cards as a PDF download.

The member prints their own card, and the office prints sheets of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from io import BytesIO

from flask import current_app, send_file
from werkzeug.wrappers import Response

from cme_tracker.members.models import Member


def card_sheet_response(members: Sequence[Member], filename: str) -> Response:
    """The members' cards as a PDF download that no cache keeps: its QR codes admit their holders.

    WeasyPrint is imported on the first card printed, not when the app starts.
    """
    from cme_tracker.members.card_sheet import member_card_sheet

    pdf = member_card_sheet(current_app.config["SECRET_KEY"], members)
    response = send_file(BytesIO(pdf), mimetype="application/pdf", as_attachment=True, download_name=filename)
    response.headers["Cache-Control"] = "private, no-store"
    return response
