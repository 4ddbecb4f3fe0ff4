"""The service's counters, kept by the process that counts (see cme_tracker/ops/metrics.py for how they are
read): a module of their own, so that any feature may count without importing the metrics' readers."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

REQUESTS = Counter(
    "cme_http_requests", "Requests answered, by URL rule, method and status.", ["route", "method", "status"]
)
LATENCY = Histogram(
    "cme_http_request_duration_seconds",
    "Time from the request's arrival to its answer, by URL rule.",
    ["route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
CHECKINS = Counter(
    "cme_checkins", "Desk scans, by outcome (created, a repeat's status, or the refusal's code).", ["outcome"]
)
VERIFY_LOOKUPS = Counter("cme_verify_lookups", "Public verification look-ups, by answer.", ["outcome"])
LOGIN_FAILURES = Counter("cme_login_failures", "Failed logins (wrong password, unknown login, locked).")


def count_request(route: str, method: str, status: int, seconds: float) -> None:
    REQUESTS.labels(route, method, str(status)).inc()
    LATENCY.labels(route).observe(seconds)
