"""``/healthz``, ``/readyz`` and ``/metrics``: for load balancers and monitoring, outside ``/api/v1``.

``/healthz`` only says the process answers (no database: a slow database must not get every web process
killed); ``/readyz`` runs the readiness checks; ``/metrics`` is for the machine itself and the addresses of
``CME_METRICS_ALLOW``, or whoever sends ``CME_METRICS_TOKEN`` as a bearer token.
"""

from __future__ import annotations

import hmac
import ipaddress
import time

from flask import Blueprint, Flask, Response, abort, g, jsonify, request
from flask.typing import ResponseReturnValue
from prometheus_client import CONTENT_TYPE_LATEST

from cme_tracker.counters import count_request
from cme_tracker.ops.metrics import exposition
from cme_tracker.ops.readiness import readiness
from cme_tracker.web.security import public
from cme_tracker.web.session import database, settings

blueprint = Blueprint("ops", __name__)

UNMATCHED = "unmatched"
"""The route label of a request no URL rule matched: unknown paths must not each make a series."""


@blueprint.get("/healthz")
@public
def healthz() -> ResponseReturnValue:
    """200 while the process answers."""
    return jsonify({"status": "ok"})


@blueprint.get("/readyz")
@public
def readyz() -> ResponseReturnValue:
    """200 when every check passes, else 503 naming each failing check and why."""
    checks = readiness(database(), settings())
    ready = all(check.ok for check in checks)
    body = {
        "status": "ready" if ready else "not_ready",
        "checks": {check.name: "ok" if check.ok else check.detail for check in checks},
    }
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    return response, 200 if ready else 503


@blueprint.get("/metrics")
@public
def metrics() -> ResponseReturnValue:
    """The Prometheus text format, for allowed addresses and the metrics token only."""
    if not _may_read_metrics():
        abort(403, "the metrics are for the configured addresses or the metrics token")
    return Response(
        exposition(database()), mimetype=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"}
    )


def _may_read_metrics() -> bool:
    configured = settings()
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and configured.metrics_token is not None:
        return hmac.compare_digest(token.strip().encode(), configured.metrics_token.encode())
    try:
        address = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(network, strict=False) for network in configured.metrics_allow)


def _start_clock() -> None:
    g.request_started = time.perf_counter()


def _count(response: Response) -> Response:
    started: float | None = g.get("request_started")
    if started is not None:
        rule = request.url_rule
        count_request(
            rule.rule if rule is not None else UNMATCHED,
            request.method,
            response.status_code,
            time.perf_counter() - started,
        )
    return response


def init_app(app: Flask) -> None:
    """Count every request, and serve the three routes."""
    app.before_request_funcs.setdefault(None, []).insert(0, _start_clock)  # before the access check
    app.after_request(_count)
    app.register_blueprint(blueprint)
