"""The ``backup`` and ``restore`` commands: one archive of an instance, and an instance back from it."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from cme_tracker.console import reports_domain_errors


@click.command("backup")
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="The archive to write: .tar, .tar.gz (.tgz), .tar.xz or .tar.bz2; the suffix picks the compression.",
)
@click.option(
    "--without-keys",
    is_flag=True,
    help="Everything but the keys (signing identity, audit key, secret key): for off-site copies.",
)
@click.option("--keys-only", is_flag=True, help="Only the keys: to keep apart from the data backups.")
@reports_domain_errors
def backup(out: Path, without_keys: bool, keys_only: bool) -> None:
    """Write one archive of the database, the issued files and the keys, with a manifest of hashes.

    The service keeps running: the database is read in one snapshot. The archive is written under a temporary
    name and renamed, readable by the owner only.
    """
    from cme_tracker.config import Settings
    from cme_tracker.keys import LostKeysError, ensure_instance_keys
    from cme_tracker.ops.backup import Contents, write_backup

    if without_keys and keys_only:
        raise click.UsageError("--without-keys and --keys-only exclude each other")
    contents = Contents.KEYS if keys_only else Contents.WITHOUT_KEYS if without_keys else Contents.FULL
    try:
        settings = ensure_instance_keys(Settings.from_environment())
    except LostKeysError as error:
        raise click.ClickException(error.message) from error
    report = write_backup(settings, out, contents)
    manifest = report.manifest
    click.echo(f"wrote {report.out} ({report.size} bytes, {report.files} files): {contents.value}")
    if manifest["counts"]:
        counts = manifest["counts"]
        database = manifest["database"]
        click.echo(
            f"database: {database['kind']} at revision {database['alembic_revision']}; "
            f"{counts['members']} members, {counts['certificates']} certificates, "
            f"{counts['audit_events']} audit events"
        )
    if contents is Contents.WITHOUT_KEYS:
        click.echo("the keys are not in this archive: keep a keys archive (backup --keys-only) apart from it")
    for name, variable in sorted(manifest["keys"]["kept_elsewhere"].items()):
        click.echo(
            f"not included: the {name.replace('_', ' ')} comes from {variable}: "
            "keep it (and any password) yourself"
        )


@click.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--keys",
    "keys_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The keys archive (backup --keys-only), for a FILE made with --without-keys.",
)
@click.option(
    "--check", is_flag=True, help="Only tell what FILE holds and check every hash; restore nothing."
)
@reports_domain_errors
def restore(file: Path, keys_file: Path | None, check: bool) -> None:
    """Restore an archive into an empty instance and database, or with --check tell what it holds.

    The target is the configured instance folder and database (CME_INSTANCE_PATH, CME_DATABASE_URL).
    Afterwards the database is migrated to this version, and the audit log and every issued file are checked.
    """
    from cme_tracker.ops.restore import Target, check_archives, describe, restore

    if check:
        data, keys = check_archives(file, keys_file)
        for line in describe(data):
            click.echo(line)
        if keys is not None:
            click.echo(f"{keys.path.name}: holds the keys this backup was made without")
        return
    report = restore(file, keys_file, Target.from_environment())
    for line in report.done:
        click.echo(line)
    for problem in report.problems:
        click.echo(f"error: {problem}", err=True)
    if report.problems:
        sys.exit(1)
