"""The ``cme-tracker`` command. Each feature adds its commands here; exit 0 success, 1 rejected, 2 usage."""

from __future__ import annotations

import click


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="cme-tracker")
def main() -> None:
    """Continuing-medical-education credits of the International Medical Society of Japan."""


def _register_commands() -> None:
    from cme_tracker.accounts.commands import tokens, users
    from cme_tracker.audit.commands import audit
    from cme_tracker.certificates.commands import certificates
    from cme_tracker.credits.commands import credits
    from cme_tracker.demo.command import demo
    from cme_tracker.document_kinds import KINDS
    from cme_tracker.documents.commands import reissue_command, revoke_command, verify_command
    from cme_tracker.imports import import_files
    from cme_tracker.jobs.commands import worker
    from cme_tracker.migrate import db
    from cme_tracker.server import serve
    from cme_tracker.transcripts.commands import transcripts
    from cme_tracker.transcripts.export_commands import export

    for command in (db, users, tokens, audit, import_files, credits, certificates, worker, demo, serve):
        main.add_command(command)
    main.add_command(transcripts)
    main.add_command(export)
    reissue = reissue_command(KINDS)
    for group in (certificates, transcripts):  # the commands by serial, under each kind's group
        for command in (verify_command, revoke_command, reissue):
            group.add_command(command)


_register_commands()
