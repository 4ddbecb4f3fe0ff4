"""Submitting, claiming and running jobs; the web submits and launches a worker, the worker runs and reports.

A job's progress lives in its row, updated in short transactions of their own, so any web process can show
it. A worker that dies leaves a job ``running`` with an old heartbeat; the next worker takes it over, which is
safe because every job kind is idempotent (it does only what is missing). The kinds of job are not known
here: :data:`cme_tracker.job_kinds.JOB_KINDS` lists them, and the worker and the pages are handed it.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import CursorResult, Select, or_, select, update
from sqlalchemy.orm import Session

from cme_tracker.audit import chain
from cme_tracker.config import Settings
from cme_tracker.db import Database, utcnow
from cme_tracker.errors import DomainError, NotFound, StorageFailed
from cme_tracker.jobs.models import Job, JobStatus
from cme_tracker.jobs.slots import WorkerSlot
from cme_tracker.jobs.stopping import STOP, WorkerStopping, stop_between_units

log = logging.getLogger(__name__)

STALE_AFTER = timedelta(minutes=5)
"""A running job whose heartbeat is older than this has lost its worker."""

JobRunner = Callable[[Database, Settings, int, dict[str, Any], str, int], tuple[str, list[dict[str, Any]]]]
"""Runs one job: ``(database, settings, job_id, parameters, actor, processes)`` to its summary and errors."""


class SubjectPage(NamedTuple):
    """The page of what a job works on: an endpoint, the job parameter that fills its one URL argument, and
    the link's text (a translated string; None: back to the certificates)."""

    endpoint: str
    parameter: str
    label: object | None = None


@dataclass(frozen=True)
class JobKind:
    """A kind of job: how a worker runs it, the page its job page links back to and the file it offers, if
    any, and the job page's heading.

    ``due`` is for work that comes due by itself (mail to retry): when it answers True, a worker queues a job
    of the kind (without parameters) before it looks for queued jobs.
    """

    run: JobRunner
    subject_page: SubjectPage | None = None
    due: Callable[[Database], bool] | None = None
    title: object | None = None
    """The heading of the job's page, a (lazy) translation; None for the certificates' heading."""
    download: str | None = None
    """The endpoint (taking ``job_id``) of the file a succeeded job wrote, linked from the job's page."""


JobKinds = Mapping[str, JobKind]
"""The kinds of job by name."""


def submit_job(
    session: Session, kinds: JobKinds, *, kind: str, parameters: dict[str, Any], actor: str
) -> Job:
    """A new queued job, or the unfinished one doing the same work (a double click queues once)."""
    if kind not in kinds:
        raise DomainError(f"unknown job kind {kind!r}", code="unknown_job_kind")
    unfinished = session.scalars(
        select(Job).where(Job.kind == kind, Job.status.in_([JobStatus.QUEUED, JobStatus.RUNNING]))
    ).all()
    for job in unfinished:
        if job.parameters == parameters and not _stale(job):
            return job
    job = Job(kind=kind, parameters=parameters, status=JobStatus.QUEUED, created_by=actor, errors=[])
    session.add(job)
    session.flush()
    chain.record(
        session,
        actor=actor,
        action="job.submit",
        target=f"job:{job.id}",
        details={"kind": kind, **parameters},
    )
    return job


def get_job(session: Session, job_id: int) -> Job:
    job = session.get(Job, job_id)
    if job is None:
        raise NotFound(f"no job {job_id}", code="unknown_job")
    return job


def _stale(job: Job) -> bool:
    return job.status == JobStatus.RUNNING and (
        job.heartbeat_at is None or job.heartbeat_at < utcnow() - STALE_AFTER
    )


def _waiting_jobs(now: datetime) -> Select[int]:
    """The jobs a worker may take: queued ones, and running ones whose worker died."""
    return select(Job.id).where(
        or_(
            Job.status == JobStatus.QUEUED,
            (Job.status == JobStatus.RUNNING) & (Job.heartbeat_at < now - STALE_AFTER),
        )
    )


def has_waiting_job(database: Database) -> bool:
    """Whether a job waits for a worker (see :func:`claim_next_job`)."""
    with database.sessions() as session:
        return session.scalar(_waiting_jobs(utcnow()).limit(1)) is not None


def claim_next_job(database: Database) -> int | None:
    """Take the oldest queued job (or one whose worker died) for this process; None when there is none.

    The claim is a compare-and-set on the row, so two workers never run the same job.
    """
    with database.write_unit() as session:
        now = utcnow()
        candidate = session.scalar(_waiting_jobs(now).order_by(Job.created_at, Job.id).limit(1))
        if candidate is None:
            return None
        claimed: CursorResult[Any] = session.execute(  # type: ignore[assignment]
            update(Job)
            .where(Job.id == candidate, Job.status.in_([JobStatus.QUEUED, JobStatus.RUNNING]))
            .where(or_(Job.status == JobStatus.QUEUED, Job.heartbeat_at < now - STALE_AFTER))
            .values(status=JobStatus.RUNNING, started_at=now, heartbeat_at=now, finished_at=None)
        )
        return candidate if claimed.rowcount == 1 else None


class JobProgress:
    """A job's progress callback: the row learns of every unit, the log of every tenth of the way."""

    def __init__(self, database: Database, job_id: int) -> None:
        self.database = database
        self.job_id = job_id
        self.logged_tenths = 0

    def __call__(self, done: int, total: int) -> None:
        with self.database.write_unit() as session:
            session.execute(
                update(Job).where(Job.id == self.job_id).values(done=done, total=total, heartbeat_at=utcnow())
            )
        tenths = done * 10 // total if total else 10
        if tenths > self.logged_tenths:
            self.logged_tenths = tenths
            log.info("job %s: %s of %s done", self.job_id, done, total)
        stop_between_units()


def _finish(
    database: Database, job_id: int, status: JobStatus, summary: str, errors: list[dict[str, Any]]
) -> None:
    with database.write_unit() as session:
        job = get_job(session, job_id)
        job.status = status
        job.summary = summary
        job.errors = errors
        job.finished_at = utcnow()
        chain.record(
            session,
            actor=job.created_by,
            action=f"job.{status}",
            target=f"job:{job.id}",
            details={"kind": job.kind, "summary": summary, "errors": len(errors)},
        )


CRASH = "crash"
CRASHED = "the job stopped by an unexpected error: the server's log has the details"
"""What a crashed job records: the traceback and the exception's text (which may name server paths) go to
the server's log only, never to the row that the pages show."""
SERVER_PROBLEM = "the server cannot do this as it is set up: its log says what to fix"


def _failure(error: DomainError) -> tuple[str, list[dict[str, Any]]]:
    """The summary and errors a job records for a domain error. One of the server's own (status 500 or more:
    a lost key, a refused write) is recorded by its code alone, as its message names server paths; a page
    shows its translated reason, and the log has the message."""
    if error.http_status < 500:
        return error.message, [{"error": error.code, "message": error.message}]
    entry: dict[str, Any] = {"error": error.code, "message": SERVER_PROBLEM, "server": True}
    if isinstance(error.details, dict) and isinstance(error.details.get("errno"), str):
        entry["errno"] = error.details["errno"]
    return SERVER_PROBLEM, [entry]


def _hand_back(database: Database, job_id: int) -> None:
    """Put a job this worker was asked to leave back in the queue, for the next worker to take at once."""
    with database.write_unit() as session:
        session.execute(
            update(Job)
            .where(Job.id == job_id)
            .values(status=JobStatus.QUEUED, heartbeat_at=None, started_at=None)
        )
    log.info("job %s handed back to the queue: the worker was asked to stop", job_id)


def run_job(
    database: Database, settings: Settings, job_id: int, kinds: JobKinds, *, processes: int = 1
) -> JobStatus:
    """Run a claimed job to its end and record how it ended; never raises for the job's own failures."""
    with database.sessions() as session:
        job = get_job(session, job_id)
        kind, parameters, actor = job.kind, dict(job.parameters), job.created_by
    log.info("job %s (%s) started for %s: %s", job_id, kind, actor, parameters)
    try:
        summary, errors = kinds[kind].run(database, settings, job_id, parameters, actor, processes)
    except WorkerStopping:
        _hand_back(database, job_id)
        raise
    except DomainError as error:
        log.warning("job %s (%s) failed: %s", job_id, kind, error.message)
        _finish(database, job_id, JobStatus.FAILED, *_failure(error))
        return JobStatus.FAILED
    except OSError as error:  # a full or read-only disk: the job's own files are its kind's to clean up
        log.exception("job %s (%s) stopped: a write was refused", job_id, kind)
        _finish(database, job_id, JobStatus.FAILED, *_failure(StorageFailed.of(error)))
        return JobStatus.FAILED
    except Exception:  # a worker reports any crash on the job rather than dying silently
        log.exception("job %s (%s) stopped by an unexpected error", job_id, kind)
        _finish(database, job_id, JobStatus.FAILED, CRASHED, [{"error": CRASH, "message": CRASHED}])
        return JobStatus.FAILED
    _finish(database, job_id, JobStatus.SUCCEEDED, summary, errors)
    log.info("job %s (%s) finished: %s; %s error(s)", job_id, kind, summary, len(errors))
    return JobStatus.SUCCEEDED


def run_queued_jobs(database: Database, settings: Settings, kinds: JobKinds, *, processes: int = 1) -> int:
    """Queue the work that came due, then run jobs until none is queued or the worker is asked to stop;
    return how many ran to their end."""
    _queue_due_work(database, kinds)
    ran = 0
    while not STOP.is_set() and (job_id := claim_next_job(database)) is not None:
        try:
            run_job(database, settings, job_id, kinds, processes=processes)
        except WorkerStopping:
            break
        ran += 1
    return ran


def _queue_due_work(database: Database, kinds: JobKinds) -> None:
    for name, kind in kinds.items():
        if kind.due is not None and kind.due(database):
            with database.unit_of_work() as session:
                submit_job(session, kinds, kind=name, parameters={}, actor="cme-tracker worker")


def run_in_slot(
    database: Database, settings: Settings, kinds: JobKinds, slot: WorkerSlot | None, *, processes: int = 1
) -> int:
    """Run the queued jobs holding a worker slot (``slot``, or a free one); return how many ran.

    The slot is freed before the last look for waiting jobs: a job queued while every slot was held, so that
    the web started no worker for it, is then seen here and run, in a slot taken again.
    """
    ran = 0
    if slot is None:
        slot = WorkerSlot.take(settings)
        if slot is None:
            log.info("all %s worker slots are held; their workers run the queued jobs", settings.job_workers)
    while slot is not None:
        with slot:
            ran += run_queued_jobs(database, settings, kinds, processes=processes)
        slot = WorkerSlot.take(settings) if not STOP.is_set() and has_waiting_job(database) else None
    return ran


WORKER_LOG = Path("logs") / "worker.log"
"""The detached workers' log in the instance folder."""


def launch_worker(settings: Settings) -> bool:
    """Start a detached ``cme-tracker worker --once`` that runs the queued jobs and exits; False when all
    :attr:`~cme_tracker.config.Settings.job_workers` slots are held (the running workers take the job).

    The web process does not wait for it and keeps nothing of it: the job row carries the progress. The
    worker has no terminal: it writes everything it has to say, its errors too, through logging to
    :data:`WORKER_LOG`, which it rotates at a bounded size (see :func:`cme_tracker.logs.make_handler`);
    its stdout and stderr are discarded, so no file grows without bound.
    """
    environment = {
        **os.environ,
        "CME_INSTANCE_PATH": str(settings.instance_path),
        "CME_DATABASE_URL": settings.database_url,
        "CME_SECRET_KEY": settings.secret_key,
        "CME_AUDIT_KEY": settings.audit_key,
        "CME_PUBLIC_URL": settings.public_url,
        "CME_LOG_FORMAT": settings.log_format,
        "CME_JOB_WORKERS": str(settings.job_workers),
    }
    if settings.audit_anchor is not None:
        environment["CME_AUDIT_ANCHOR"] = str(settings.audit_anchor)
    if settings.signing_p12 is not None:
        environment["CME_SIGNING_P12"] = str(settings.signing_p12)
        environment["CME_SIGNING_PASSWORD"] = settings.signing_password or ""
    slot = WorkerSlot.take(settings)
    if slot is None:
        log.info("no worker launched: all %s worker slots are held", settings.job_workers)
        return False
    with slot:
        worker = [sys.executable, "-m", "cme_tracker", "worker", "--once", "--slot-fd", str(slot.descriptor)]
        subprocess.run(  # noqa: S603 - our own interpreter running our own module
            [
                sys.executable,
                "-c",
                _DETACH,
                str(slot.descriptor),
                *worker,
                "--log-file",
                str(settings.instance_path / WORKER_LOG),
            ],
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            pass_fds=(slot.descriptor,),
            check=True,
        )
    log.info("worker launched for the queued jobs")
    return True


_DETACH = (
    "import subprocess, sys; "
    "subprocess.Popen(sys.argv[2:], start_new_session=True, pass_fds=(int(sys.argv[1]),))"
)
"""Run by a short-lived launcher: the worker's parent exits at once, so the worker is never a zombie of the
web process, which does not wait for it. The first argument is the worker slot's descriptor, handed down."""
