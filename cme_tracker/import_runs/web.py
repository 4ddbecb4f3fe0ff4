"""What the office's import pages and the API's import routes share: an upload checked in the request or
queued as a job, and a confirmed run imported in the request or queued.

A file of more than ``CME_IMPORT_JOB_BYTES`` (:attr:`~cme_tracker.config.Settings.import_job_bytes`) is
checked and imported by a job, followed on the job page; a smaller one in the request. Each function commits
the request's transaction once, and starts a worker after it for a queued job.
"""

from __future__ import annotations

from cme_tracker.accounts.authentication import current_actor
from cme_tracker.db import begin_write
from cme_tracker.import_runs.jobs import CHECK_IMPORT, RUN_IMPORT
from cme_tracker.import_runs.models import ImportRun
from cme_tracker.import_runs.services import (
    Upload,
    check_run,
    get_run,
    import_run,
    queue_import,
    record_upload,
)
from cme_tracker.jobs.service import submit_job
from cme_tracker.jobs.web import job_kinds, start_worker
from cme_tracker.web.session import db_session, settings


def is_large(size: int) -> bool:
    return size > settings().import_job_bytes


def upload_and_check(upload: Upload, *, then_import: bool = False) -> ImportRun:
    """Keep and record the upload, then its dry run (and with ``then_import``, its import when the dry run
    passed); committed."""
    session = db_session()
    begin_write(session)
    actor = current_actor().name
    folder = settings().instance_path
    queued = is_large(len(upload.data))
    run = record_upload(session, folder, upload, actor=actor, queued=queued)
    if queued:
        parameters = {"run_id": run.id, "then_import": then_import}
        run.job_id = submit_job(
            session, job_kinds(), kind=CHECK_IMPORT, parameters=parameters, actor=actor
        ).id
    else:
        check_run(session, folder, run, actor=actor)
        if then_import and run.confirmable:
            import_run(session, folder, run, actor=actor)
    session.commit()
    if queued:
        start_worker()
    return run


def confirm_run(run_id: int, expected_version: int | None) -> ImportRun:
    """Import the run whose dry run passed, once; committed. Raises the refusals of
    :func:`~cme_tracker.import_runs.services.start_import` (already imported, dry run failed, a stale
    version) with nothing written."""
    session = db_session()
    begin_write(session)
    actor = current_actor().name
    run = get_run(session, run_id, lock=True)
    queued = is_large(run.size)
    if queued:
        queue_import(session, run, expected_version, actor=actor)
        run.job_id = submit_job(
            session, job_kinds(), kind=RUN_IMPORT, parameters={"run_id": run.id}, actor=actor
        ).id
    else:
        import_run(session, settings().instance_path, run, actor=actor, expected_version=expected_version)
    session.commit()
    if queued:
        start_worker()
    return run
