"""A verification and a certificate's public record as JSON, for the public verify page and the API.

Both answer with the same shape, so a script that verifies through either reads the same keys.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from marshmallow import Schema, fields

if TYPE_CHECKING:
    from cme_tracker.documents.verify import PublicRecord, Verification


class PublicRecordSchema(Schema):
    """What the verification shows of a certificate: exactly what the certificate shows, and its status."""

    serial = fields.String()
    kind = fields.String()
    status = fields.String()
    holder_name = fields.String()
    holder_name_romaji = fields.String()
    symposium_code = fields.String()
    symposium_title_ja = fields.String()
    symposium_title_en = fields.String()
    symposium_date = fields.String()
    issued_at = fields.String()
    totals = fields.List(fields.Dict())
    revoked_at = fields.String()
    revocation_category = fields.String()
    replaced_by = fields.String()
    year = fields.Integer()
    year_basis = fields.String()


class VerificationSchema(Schema):
    """``GET /verify/{serial}.json``: ``{"valid", "verdict", "problem", "message", "certificate"}``."""

    valid = fields.Boolean()
    verdict = fields.String(attribute="verdict.value")
    problem = fields.String()
    message = fields.String()
    certificate = fields.Nested(PublicRecordSchema, attribute="record", allow_none=True)


# Schemas hold no state between dumps, and building one costs more than a dump.
_PUBLIC_RECORD = PublicRecordSchema()
_VERIFICATION = VerificationSchema()


def public_record_json(record: PublicRecord) -> dict[str, Any]:
    dumped: dict[str, Any] = _PUBLIC_RECORD.dump(record)
    return dumped


def verification_json(verification: Verification) -> dict[str, Any]:
    dumped: dict[str, Any] = _VERIFICATION.dump(verification)
    return dumped
