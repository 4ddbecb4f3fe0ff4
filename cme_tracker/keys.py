"""The instance's keys against its data: a lost audit key or signing identity is never silently replaced.

A new key over existing data would make every earlier certificate verify as a foreign signer and the audit
chain break at its first event; so a process refuses to start instead, and says how to restore the key.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

from sqlalchemy import Engine, exists, inspect, select, table

from cme_tracker.config import AUDIT_KEY_FILE, Settings, write_secret
from cme_tracker.db import create_db_engine
from cme_tracker.errors import DomainError


class LostKeysError(DomainError):
    """The database holds audit events or issued documents, but a key they depend on is absent."""

    code = "lost_keys"
    http_status = 500


IDENTITY_DIR = "identity"
"""Below ``instance/signing``: created whole by one rename, so a reader never sees half an identity."""


def generated_identity_dir(instance_path: Path) -> Path:
    """Where the generated signing identity lives (when no ``CME_SIGNING_P12`` is configured)."""
    return instance_path / "signing" / IDENTITY_DIR


STRAY_ROOT_KEY = "root-ca-key.pem"
"""Where earlier versions kept the generated root's private key, beside the signing key; no longer made."""

logger = logging.getLogger(__name__)


def stray_root_key(instance_path: Path) -> Path | None:
    """The society root's private key an older version left beside the signing key, if it is still there."""
    path = generated_identity_dir(instance_path) / STRAY_ROOT_KEY
    return path if path.exists() else None


def stray_root_key_warning(path: Path) -> str:
    return (
        f"{path} holds the society root's private key beside the signing key: whoever reads the instance "
        "folder can certify a signing key of their own under the society's root. Move it off the server "
        "(offline storage) or delete it; the server never uses it (docs/verification.md)."
    )


def ensure_instance_keys(settings: Settings, engine: Engine | None = None) -> Settings:
    """``settings`` with its audit key saved, once the database is known to be fresh; else refuse.

    A fresh instance (no audit events, no documents) keeps its new audit key; one with data whose key or
    identity is missing raises :class:`LostKeysError`. ``engine`` defaults to one on the settings' database.
    """
    stray = stray_root_key(settings.instance_path)
    if stray is not None:
        logger.warning(stray_root_key_warning(stray))
    identity_missing = (
        settings.signing_p12 is None and not generated_identity_dir(settings.instance_path).exists()
    )
    if not settings.audit_key_unsaved and not identity_missing:
        return settings
    events, documents = _recorded(
        engine or create_db_engine(settings.database_url), disposable=engine is None
    )
    folder = settings.instance_path
    missing = []
    if settings.audit_key_unsaved and (events or documents):
        missing.append(
            f"the audit key ({folder / AUDIT_KEY_FILE}) is missing: restore that file from the backup of the "
            "instance folder, or set CME_AUDIT_KEY"
        )
    if identity_missing and documents:
        missing.append(
            f"the signing identity ({generated_identity_dir(folder)}) is missing: restore the signing folder "
            "from the backup of the instance folder, or set CME_SIGNING_P12 (and CME_SIGNING_PASSWORD)"
        )
    if missing:
        raise LostKeysError(
            "The database holds audit events or issued documents, but "
            + "; and ".join(missing)
            + ". New keys are not generated over existing data: earlier certificates and the audit chain "
            "would no longer verify."
        )
    if not settings.audit_key_unsaved:
        return settings
    return dataclasses.replace(
        settings, audit_key=write_secret(folder, AUDIT_KEY_FILE, settings.audit_key), audit_key_unsaved=False
    )


def _recorded(engine: Engine, *, disposable: bool) -> tuple[bool, bool]:
    """Whether the database has audit events, and issued documents; tables not yet created count as empty."""
    try:
        with engine.connect() as connection:
            tables = set(inspect(connection).get_table_names())
            found = []
            for name in ("audit_events", "certificates"):
                found.append(
                    name in tables and bool(connection.scalar(select(exists().select_from(table(name)))))
                )
            return found[0], found[1]
    finally:
        if disposable:
            engine.dispose()
