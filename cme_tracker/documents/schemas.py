"""A verification and a certificate's public record as JSON, for the public verify page and the API.

Both answer with the same shape, so a script that verifies through either reads the same keys.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from marshmallow import fields, validate

from cme_tracker.documents.models import CertificateStatus, RevocationCategory
from cme_tracker.dumps import Answer, frozen_amount
from cme_tracker.vocabulary import YearBasis

if TYPE_CHECKING:
    from cme_tracker.documents.verify import Verification


class TotalSchema(Answer):
    """A policy's total as a certificate prints it."""

    label = fields.String()
    label_ja = fields.String(allow_none=True)
    version = fields.String()
    unit = fields.String()
    total = frozen_amount()


class PublicRecordSchema(Answer):
    """What the verification shows of a certificate: exactly what the certificate shows, and its status."""

    serial = fields.String(metadata={"examples": ["A26-7K3M-Q9XP"]})
    kind = fields.String(validate=validate.OneOf(["attendance", "transcript"]))
    status = fields.String(validate=validate.OneOf([status.value for status in CertificateStatus]))
    holder_name = fields.String(
        allow_none=True, metadata={"description": "In kanji; null for a name in Latin letters only."}
    )
    holder_name_romaji = fields.String()
    symposium_code = fields.String(allow_none=True)
    symposium_title_ja = fields.String(allow_none=True)
    symposium_title_en = fields.String(allow_none=True)
    symposium_date = fields.String(allow_none=True, metadata={"format": "date"})
    issued_at = fields.String(metadata={"format": "date-time"})
    totals = fields.List(fields.Nested(TotalSchema))
    revoked_at = fields.String(allow_none=True, metadata={"format": "date"})
    revocation_category = fields.String(
        allow_none=True, validate=validate.OneOf([category.value for category in RevocationCategory])
    )
    replaced_by = fields.String(
        allow_none=True, metadata={"description": "The serial of the certificate replacing it."}
    )
    year = fields.Integer(allow_none=True)
    year_basis = fields.String(allow_none=True, validate=validate.OneOf([basis.value for basis in YearBasis]))


class VerificationSchema(Answer):
    """``GET /verify/{serial}.json``: ``{"valid", "verdict", "problem", "message", "certificate"}``."""

    valid = fields.Boolean()
    verdict = fields.String(attribute="verdict.value")
    problem = fields.String(allow_none=True)
    message = fields.String()
    certificate = fields.Nested(PublicRecordSchema, attribute="record", allow_none=True)


# Schemas hold no state between dumps, and building one costs more than a dump.
_VERIFICATION = VerificationSchema()


def verification_json(verification: Verification) -> dict[str, Any]:
    dumped: dict[str, Any] = _VERIFICATION.dump(verification)
    return dumped
