"""Member cards: a QR payload the server signs, so a typed-in or forged code is refused; what a card shows.

The payload is ``IMSJ-<member_no>-<card serial>-<signature>``: upper-case letters, digits and hyphens only,
which every USB barcode scanner types correctly under any keyboard layout. The signature is 80 bits of an
HMAC-SHA256 keyed with a key derived from the app secret. A new card raises the serial and cancels the old.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

import segno
from sqlalchemy.orm import Session

from cme_tracker.audit import chain
from cme_tracker.errors import NotFound
from cme_tracker.members.models import Member

PREFIX = "IMSJ"
_SIGNATURE_CHARACTERS = 16
QR_ERROR_LEVEL = "m"
"""At least medium error correction (15 %): a card survives a worn corner; segno raises it when it fits."""


class UnknownCard(NotFound):
    code = "unknown_card"


@dataclass(frozen=True)
class CardFace:
    """What a member's card shows, as plain values, for the printed sheet and the web pages alike."""

    member_no: str
    name: str
    """In kanji, family name first; in Latin script for members without a kanji name."""
    name_latin: str | None
    """The romaji under a kanji name; None when ``name`` is already in Latin script."""
    former_family_name: str | None
    profession_ja: str
    profession_en: str
    payload: str

    def printed_text(self) -> tuple[str, ...]:
        """Every text of the member that a card prints (the QR code aside)."""
        texts = (self.member_no, self.name, self.name_latin, self.former_family_name)
        return (*(text for text in texts if text), self.profession_ja, self.profession_en)


@dataclass(frozen=True)
class CardClaim:
    """What a correctly signed card says: whose it is and which of their cards it is."""

    member_no: str
    serial: int


def _signature(secret: str, member_no: str, serial: int) -> str:
    key = hmac.new(secret.encode(), b"imsj member card", hashlib.sha256).digest()
    digest = hmac.new(key, f"{member_no}\n{serial}".encode(), hashlib.sha256).digest()
    return base64.b32encode(digest).decode()[:_SIGNATURE_CHARACTERS]


def card_payload(secret: str, member: Member) -> str:
    signature = _signature(secret, member.member_no, member.card_serial)
    return f"{PREFIX}-{member.member_no}-{member.card_serial}-{signature}"


def card_face(secret: str, member: Member) -> CardFace:
    """The member's current card; a name counts as kanji when it has kana or CJK, as in ``Member.name``."""
    in_kanji = bool(member.family_name_kana) or any(
        ord(char) > 0x2E80 for char in member.family_name + member.given_name
    )
    profession = member.profession
    return CardFace(
        member_no=member.member_no,
        name=member.name,
        name_latin=member.name_romaji if in_kanji else None,
        former_family_name=member.former_family_name or None,
        profession_ja=profession.label_ja,
        profession_en=profession.label_en,
        payload=card_payload(secret, member),
    )


def card_qr(payload: str) -> segno.QRCode:
    """The QR code of a card's payload: a full-size QR code (never Micro QR, which few scanners read)."""
    return segno.make_qr(payload, error=QR_ERROR_LEVEL)


def card_qr_data_uri(payload: str) -> str:
    """The QR code as an SVG ``data:`` URI, for web pages: the CSP allows data images, not inline markup."""
    return card_qr(payload).svg_data_uri(border=4, dark="#000", light="#fff", omitsize=True)


def read_card(secret: str, payload: str) -> CardClaim:
    """The claim of a genuine card; :class:`UnknownCard` for anything malformed, typed in or forged."""
    prefix, _, rest = payload.strip().partition("-")
    head, _, signature = rest.rpartition("-")
    member_no, _, serial_text = head.rpartition("-")
    if prefix.upper() != PREFIX or not member_no or not serial_text.isdigit() or len(serial_text) > 6:
        raise UnknownCard("this is not an IMSJ member card")
    serial = int(serial_text)
    if not hmac.compare_digest(signature.upper(), _signature(secret, member_no, serial)):
        raise UnknownCard("the card's signature is not valid")
    return CardClaim(member_no, serial)


def member_for_card(secret: str, payload: str, member: Member | None) -> Member:
    """Checks that ``member`` (looked up by the claim's number) holds the current card of the claim."""
    claim = read_card(secret, payload)
    if member is None or member.member_no != claim.member_no:
        raise UnknownCard(f"no member {claim.member_no}")
    if member.card_serial != claim.serial:
        raise UnknownCard("this card was replaced by a newer one", code="card_replaced")
    return member


def issue_new_card(session: Session, member: Member, *, actor: str) -> int:
    """Cancels the member's current card by raising its serial; returns the new serial."""
    member.card_serial += 1
    session.flush()
    chain.record(
        session,
        actor=actor,
        action="member.card.reissue",
        target=f"member:{member.member_no}",
        details={"card_serial": member.card_serial},
    )
    return member.card_serial
