"""Settings from ``CME_*`` environment variables, with defaults under the instance folder."""

from __future__ import annotations

import ipaddress
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PRIVATE_UMASK = 0o077
"""Files and folders this app creates (database, issued PDFs, exports, keys, anchor) are the owner's only."""


def make_files_private() -> None:
    """Set the process umask so that everything created from here on is 0600 (files) or 0700 (folders):
    the instance folder holds members' certificates and the keys that sign them."""
    os.umask(PRIVATE_UMASK)


def instance_path() -> Path:
    """The instance folder: ``CME_INSTANCE_PATH`` or ./instance of the working directory."""
    return Path(os.environ.get("CME_INSTANCE_PATH", "instance")).resolve()


LOG_FORMATS = ("text", "json")
"""``CME_LOG_FORMAT``: human-readable lines (the default), or one JSON object a line for a log collector."""


DEFAULT_MAX_REQUEST_BYTES = 16 * 1024 * 1024
DEFAULT_IMPORT_JOB_BYTES = 256 * 1024
"""An import file larger than this (about 2,000 rows of members) is checked and imported by a job."""
"""Room for the largest import file a society office sends (a few thousand rows), far from a memory risk."""


DEFAULT_MAIL_FROM = "IMSJ CME <cme-tracker@localhost>"
DEFAULT_METRICS_ALLOW = ("127.0.0.0/8", "::1/128")
"""Who may read /metrics without a token: the machine itself (a Prometheus agent beside the app)."""


def log_format() -> str:
    """``CME_LOG_FORMAT``, checked; read apart from :class:`Settings`, which creates the instance folder and
    secrets, so that every command can configure its logging first."""
    value = os.environ.get("CME_LOG_FORMAT", "").strip().lower() or LOG_FORMATS[0]
    if value not in LOG_FORMATS:
        raise ValueError(f"CME_LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}, not {value!r}")
    return value


AUDIT_KEY_FILE = "audit_key"
"""The audit key's file in the instance folder, when ``CME_AUDIT_KEY`` does not give it."""


def read_secret(folder: Path, name: str, env_var: str) -> str | None:
    """A secret from the environment, else from its file in the instance folder; None when neither has it."""
    from_env = os.environ.get(env_var)
    if from_env:
        return from_env
    path = folder / name
    if path.exists():
        return path.read_text(encoding="ascii").strip()
    return None


def write_secret(folder: Path, name: str, value: str) -> str:
    """Save a new secret readable by the owner only; when another process saved one first, return theirs.

    Secrets never live in the repository.
    """
    folder.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(folder / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return (folder / name).read_text(encoding="ascii").strip()
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(value + "\n")
    return value


def read_or_create_secret(folder: Path, name: str, env_var: str) -> str:
    """A secret from the environment or the instance folder, else a new one saved there."""
    return read_secret(folder, name, env_var) or write_secret(folder, name, secrets.token_hex(32))


SECRET_KEY_FILE = "secret_key"  # noqa: S105 - a file name, not a secret
"""The secret key's file in the instance folder, when ``CME_SECRET_KEY`` does not give it: it signs sessions
and the QR codes of printed member cards."""


def database_url(folder: Path) -> str:
    """``CME_DATABASE_URL``, else the SQLite file in the instance folder ``folder``."""
    return os.environ.get("CME_DATABASE_URL") or f"sqlite:///{folder / 'cme-tracker.sqlite3'}"


def audit_anchor_path(folder: Path) -> Path:
    """``CME_AUDIT_ANCHOR``, else ``audit_anchor.json`` in the instance folder ``folder``."""
    return _optional_path(os.environ.get("CME_AUDIT_ANCHOR")) or folder / "audit_anchor.json"


@dataclass(frozen=True)
class Settings:
    """Everything the app, the CLI and the workers need to know about their environment."""

    instance_path: Path
    database_url: str
    secret_key: str
    audit_key: str
    public_url: str
    signing_p12: Path | None = None
    """A PKCS#12 file with the society's signing key and certificate chain; None: the generated identity."""
    signing_password: str | None = None
    proxy_hops: int = 0
    """Reverse proxies in front of the app whose X-Forwarded-For/-Proto headers are trusted (0: none)."""
    log_format: str = LOG_FORMATS[0]
    """How log lines are written: see :data:`LOG_FORMATS`."""
    idle_minutes: int = 30
    """``CME_IDLE_MINUTES``: a login session unused this long ends: an unattended desk PC logs out."""
    audit_anchor: Path | None = None
    """The audit chain's keyed head kept outside the database (``CME_AUDIT_ANCHOR``, else in the instance
    folder), so that a tail cut from the database is detected."""
    job_workers: int = 1
    """``CME_JOB_WORKERS``: how many workers the web runs at once (default: the CPUs); other jobs wait."""
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES
    """``CME_MAX_REQUEST_BYTES``: the largest request body accepted; a larger one answers 413."""
    import_job_bytes: int = DEFAULT_IMPORT_JOB_BYTES
    """``CME_IMPORT_JOB_BYTES``: an uploaded import file larger than this is checked and imported by a job."""
    mail_url: str | None = None
    """``CME_MAIL_URL``: the SMTP server mail goes to; None: ``.eml`` files in ``<instance>/outbox/``."""
    mail_from: str = DEFAULT_MAIL_FROM
    """``CME_MAIL_FROM``: the sender of every message."""
    metrics_token: str | None = None
    """``CME_METRICS_TOKEN``: a bearer token that may read ``/metrics`` from any address."""
    metrics_allow: tuple[str, ...] = DEFAULT_METRICS_ALLOW
    """``CME_METRICS_ALLOW``: the address ranges (CIDR, comma-separated) that may read ``/metrics``."""
    audit_key_unsaved: bool = False
    """The audit key is new and not yet saved: :func:`cme_tracker.keys.ensure_instance_keys` saves it for a
    fresh database and refuses one with data, rather than replace a lost key."""

    @classmethod
    def from_environment(cls, overrides: dict[str, Any] | None = None) -> Settings:
        overrides = overrides or {}
        folder = Path(overrides.get("INSTANCE_PATH") or instance_path())
        folder.mkdir(parents=True, exist_ok=True)
        url = overrides.get("DATABASE_URL") or database_url(folder)
        audit_key = overrides.get("AUDIT_KEY") or read_secret(folder, AUDIT_KEY_FILE, "CME_AUDIT_KEY")
        return cls(
            instance_path=folder,
            database_url=url,
            secret_key=overrides.get("SECRET_KEY")
            or read_or_create_secret(folder, SECRET_KEY_FILE, "CME_SECRET_KEY"),
            audit_key=audit_key or secrets.token_hex(32),
            audit_key_unsaved=audit_key is None,
            public_url=(
                overrides.get("PUBLIC_URL") or os.environ.get("CME_PUBLIC_URL", "http://127.0.0.1:5000")
            ).rstrip("/"),
            signing_p12=_optional_path(overrides.get("SIGNING_P12") or os.environ.get("CME_SIGNING_P12")),
            signing_password=overrides.get("SIGNING_PASSWORD") or os.environ.get("CME_SIGNING_PASSWORD"),
            proxy_hops=int(overrides.get("PROXY_HOPS") or os.environ.get("CME_PROXY_HOPS") or 0),
            log_format=overrides.get("LOG_FORMAT") or log_format(),
            idle_minutes=int(overrides.get("IDLE_MINUTES") or os.environ.get("CME_IDLE_MINUTES") or 30),
            audit_anchor=_optional_path(overrides.get("AUDIT_ANCHOR")) or audit_anchor_path(folder),
            job_workers=_job_workers(overrides.get("JOB_WORKERS") or os.environ.get("CME_JOB_WORKERS")),
            max_request_bytes=int(
                overrides.get("MAX_REQUEST_BYTES")
                or os.environ.get("CME_MAX_REQUEST_BYTES")
                or DEFAULT_MAX_REQUEST_BYTES
            ),
            import_job_bytes=int(
                overrides.get("IMPORT_JOB_BYTES")
                or os.environ.get("CME_IMPORT_JOB_BYTES")
                or DEFAULT_IMPORT_JOB_BYTES
            ),
            mail_url=overrides.get("MAIL_URL") or os.environ.get("CME_MAIL_URL") or None,
            mail_from=overrides.get("MAIL_FROM") or os.environ.get("CME_MAIL_FROM") or DEFAULT_MAIL_FROM,
            metrics_token=overrides.get("METRICS_TOKEN") or os.environ.get("CME_METRICS_TOKEN") or None,
            metrics_allow=_networks(overrides.get("METRICS_ALLOW") or os.environ.get("CME_METRICS_ALLOW")),
        )


def _job_workers(value: str | int | None) -> int:
    """The cap on concurrent workers, checked: a positive whole number, or the number of CPUs when unset."""
    if value is None or str(value).strip() == "":
        return os.cpu_count() or 1
    try:
        workers = int(value)
    except ValueError:
        workers = 0
    if workers < 1:
        raise ValueError(f"CME_JOB_WORKERS must be a whole number of at least 1, not {value!r}")
    return workers


def _networks(value: str | None) -> tuple[str, ...]:
    """``CME_METRICS_ALLOW`` checked: comma-separated CIDR ranges, or the loopback ranges when unset."""
    if value is None or not value.strip():
        return DEFAULT_METRICS_ALLOW
    ranges = tuple(part.strip() for part in value.split(",") if part.strip())
    for network in ranges:
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError:
            raise ValueError(f"CME_METRICS_ALLOW holds {network!r}, which is not an address range") from None
    return ranges


def _optional_path(value: str | Path | None) -> Path | None:
    return Path(value).resolve() if value else None
