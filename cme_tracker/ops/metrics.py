"""What the service does, counted for Prometheus: requests, check-ins, verify look-ups and failed logins as
they happen in this process; jobs, documents and mail read from the database when the metrics are scraped.

Under gunicorn every worker counts on its own; ``cme-tracker serve`` points ``PROMETHEUS_MULTIPROC_DIR`` at a
folder of the instance before the workers start, and the scrape then sums every worker's files (the client
library's multiprocess mode). Counts from the database are the same whichever process is asked, so they are
not kept per process at all.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from cme_tracker.counters import CHECKINS, LATENCY, LOGIN_FAILURES, REQUESTS, VERIFY_LOOKUPS
from cme_tracker.db import Database
from cme_tracker.documents.models import Certificate
from cme_tracker.jobs.models import Job
from cme_tracker.mail.models import OutgoingMail

log = logging.getLogger(__name__)

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"


class DatabaseCollector(Collector):
    """Jobs by kind and state (the queue's depth among them), documents by kind and status, mail by state."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def collect(self) -> Iterator[GaugeMetricFamily]:
        jobs = GaugeMetricFamily(
            "cme_jobs", "Jobs by kind and state; queued is the queue's depth.", labels=["kind", "state"]
        )
        documents = GaugeMetricFamily(
            "cme_documents", "Issued documents by kind and status.", labels=["kind", "status"]
        )
        mail = GaugeMetricFamily("cme_mail", "Outgoing messages by state.", labels=["state"])
        try:
            with self.database.sessions() as session:
                for kind, state, count in session.execute(
                    select(Job.kind, Job.status, func.count()).group_by(Job.kind, Job.status)
                ):
                    jobs.add_metric([kind, str(state)], count)
                for kind, status, count in session.execute(
                    select(Certificate.kind, Certificate.status, func.count()).group_by(
                        Certificate.kind, Certificate.status
                    )
                ):
                    documents.add_metric([str(kind), str(status)], count)
                for mail_state, count in session.execute(
                    select(OutgoingMail.status, func.count()).group_by(OutgoingMail.status)
                ):
                    mail.add_metric([str(mail_state)], count)
        except SQLAlchemyError:
            log.warning("metrics: the database does not answer", exc_info=True)
            return
        yield from (jobs, documents, mail)


def exposition(database: Database) -> bytes:
    """The metrics in the Prometheus text format: this process's (or every worker's) counts and the
    database's."""
    registry = CollectorRegistry()
    if os.environ.get(MULTIPROCESS_ENV):
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        for collector in (REQUESTS, LATENCY, CHECKINS, VERIFY_LOOKUPS, LOGIN_FAILURES):
            registry.register(collector)
    registry.register(DatabaseCollector(database))
    output: bytes = generate_latest(registry)
    return output
