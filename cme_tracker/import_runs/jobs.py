"""The jobs of large import files: the dry run and the import, each of one run, each in one transaction.

Both are idempotent, as every job kind must be: a job taken over after its worker died finds the run already
checked (or imported) and reports it, or does the work, which its transaction wrote entirely or not at all.
A job that stops on an unexpected error records the run as failed before the job itself is reported failed.
"""

from __future__ import annotations

from typing import Any

from cme_tracker.config import Settings
from cme_tracker.db import Database
from cme_tracker.import_runs.models import ImportRunStatus
from cme_tracker.import_runs.services import check_run, fail_run, get_run, import_run
from cme_tracker.jobs.service import JobProgress

CHECK_IMPORT = "check_import"
RUN_IMPORT = "run_import"


def check_import_job(
    database: Database,
    settings: Settings,
    job_id: int,
    parameters: dict[str, Any],
    actor: str,
    _processes: int,
) -> tuple[str, list[dict[str, Any]]]:
    """The dry run of the run ``parameters["run_id"]``, queued when its file was uploaded; with
    ``then_import`` (the API's ``dry_run=false``), its import too when the dry run passed."""
    return _run(
        database,
        settings,
        job_id,
        int(parameters["run_id"]),
        actor,
        ImportRunStatus.CHECKING,
        then_import=bool(parameters.get("then_import")),
    )


def run_import_job(
    database: Database,
    settings: Settings,
    job_id: int,
    parameters: dict[str, Any],
    actor: str,
    _processes: int,
) -> tuple[str, list[dict[str, Any]]]:
    """The import of the run ``parameters["run_id"]``, queued when an administrator confirmed it."""
    return _run(database, settings, job_id, int(parameters["run_id"]), actor, ImportRunStatus.IMPORTING)


def _run(
    database: Database,
    settings: Settings,
    job_id: int,
    run_id: int,
    actor: str,
    waiting: ImportRunStatus,
    *,
    then_import: bool = False,
) -> tuple[str, list[dict[str, Any]]]:
    progress = JobProgress(database, job_id)
    progress(0, 1)
    try:
        with database.write_unit() as session:
            run = get_run(session, run_id, lock=True)
            if run.status is waiting:
                if waiting is ImportRunStatus.CHECKING:
                    check_run(session, settings.instance_path, run, actor=actor)
                    if then_import and run.confirmable:
                        import_run(session, settings.instance_path, run, actor=actor)
                else:
                    import_run(session, settings.instance_path, run, actor=actor)
            summary = run.summary or ""
    except Exception as error:
        with database.write_unit() as session:
            run = get_run(session, run_id, lock=True)
            if run.status is waiting:
                fail_run(session, run, f"the job stopped: {type(error).__name__}", actor=actor)
        raise
    progress(1, 1)
    return summary, []
