"""The words the desk's scripts show, translated on the server and handed to the page in a data attribute.

The scripts hold no text of their own, so the Japanese catalog stays the one place to translate. Placeholders
are ``%(name)s``, which Babel checks in every translation and the script fills in.
"""

from __future__ import annotations

from flask_babel import gettext


def script_phrases() -> dict[str, str]:
    """Phrase key to its text in the current language; the API's error codes are keys too."""
    return {
        "sending": gettext("Sending…"),
        "checked_in": gettext("Checked in"),
        "checked_out": gettext("Checked out"),
        "already_checked_in": gettext("Already checked in at %(time)s"),
        "already_checked_out": gettext("Already checked out at %(time)s"),
        "not_checked_in": gettext("Not checked in: nothing to check out"),
        "unknown_card": gettext("Unknown card"),
        "card_replaced": gettext("Old card: it was replaced by a newer one"),
        "unknown_member": gettext("Unknown member number"),
        "merged_member": gettext("This record was merged into another member's: check in by their number"),
        "not_open": gettext("Not open: this symposium is not held today"),
        "symposium_closed": gettext("Not open: this symposium is closed"),
        "lecture_over": gettext("Not open: the lecture is already over"),
        "lecture_not_in_symposium": gettext("This lecture is not part of the chosen symposium"),
        "unknown_lecture": gettext("This lecture is no longer in the programme: reload the page"),
        "unknown_symposium": gettext("This symposium is no longer in the programme: reload the page"),
        "unauthorized": gettext("Your login has expired: reload the page and log in again"),
        "forbidden": gettext("Your login may not record attendance"),
        "csrf_failed": gettext("The page has expired: reload it"),
        "refused": gettext("Not recorded"),
        "choose_symposium": gettext("Choose a symposium first"),
        "correction_time": gettext("This symposium is on another day: enter the time of attendance first"),
        "queued": gettext("Saved on this device: it will be sent when the server is back"),
        "queued_card": gettext("Card of member %(member_no)s"),
        "queued_number": gettext("Member number %(member_no)s"),
        "synced": gettext("Sent"),
        "sync_failed": gettext("Could not sync"),
        "offline_search": gettext("Name search needs the server: scan the card or type the member number"),
        "offline_walk_in": gettext("Registering a walk-in needs the server"),
        "no_member_found": gettext("No member found"),
        "members_found": gettext("%(count)s members found: choose with the arrow keys and Enter"),
        "choose_member": gettext("Several members match: choose one with the arrow keys, then press Enter"),
        "member_no": gettext("No. %(member_no)s"),
        "needs_review": gettext("Walk-in, to be confirmed"),
        "undo": gettext("Undo"),
        "undone": gettext("Undone"),
        "undo_done": gettext("Scan undone"),
        "undo_failed": gettext("Could not undo the scan"),
        "too_late_to_undo": gettext("Scans can be undone at the desk only within 10 minutes"),
        "already_voided": gettext("This scan was already undone"),
        "not_own_scan": gettext("A desk can undo only its own scans; ask the society office"),
        "dismiss": gettext("Dismiss"),
        "online": gettext("Connected"),
        "offline": gettext("Offline"),
        "waiting": gettext("%(count)s waiting to be sent"),
        "walk_in_invalid": gettext("Check the marked fields"),
        "member_exists": gettext("Already a member: %(member_no)s. Check them in by that number."),
        "counts_updated": gettext("Updated %(time)s"),
        "whole_day": gettext("Whole day"),
        "camera_unavailable": gettext("The camera cannot be used"),
        "storage_unavailable": gettext("This browser cannot keep scans while offline"),
    }
