"""The command groups of the document kinds, each with the kernel's commands on one document by its serial.

``cme-tracker certificates`` and ``cme-tracker transcripts`` each list verify, revoke and reissue beside their
own ``issue``; the commands are the kernel's (:mod:`cme_tracker.documents.commands`), and reissue finds
the document's kind in :data:`~cme_tracker.document_kinds.KINDS`. The CLI loads this module only to run one
of them.
"""

from __future__ import annotations

import click

from cme_tracker.certificates.commands import certificates
from cme_tracker.document_kinds import KINDS
from cme_tracker.documents.commands import reissue_command, revoke_command, verify_command
from cme_tracker.transcripts.commands import transcripts

_reissue = reissue_command(KINDS)


def _with_serial_commands(group: click.Group) -> click.Group:
    for command in (verify_command, revoke_command, _reissue):
        group.add_command(command)
    return group


certificate_commands = _with_serial_commands(certificates)
transcript_commands = _with_serial_commands(transcripts)
