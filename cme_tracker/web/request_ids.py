"""A request id for every request: taken from ``X-Request-ID`` when sane, echoed in the response.

Every log line written while the request is served carries it (see :mod:`cme_tracker.logs`), so an operator
can find all lines of one request, and match them with the proxy's when the proxy sends the header.
"""

from __future__ import annotations

from flask import Flask, Response, g, request

from cme_tracker import logs


def _bind_request_id() -> None:
    value = logs.accept_request_id(request.headers.get(logs.REQUEST_ID_HEADER))
    g.request_id = value
    g.request_id_token = logs.request_id.set(value)


def _echo_request_id(response: Response) -> Response:
    if "request_id" in g:
        response.headers[logs.REQUEST_ID_HEADER] = g.request_id
    return response


def _unbind_request_id(_error: BaseException | None) -> None:
    token = g.pop("request_id_token", None)
    if token is not None:
        logs.request_id.reset(token)


def init_app(app: Flask) -> None:
    """Called before the other extensions register their hooks, so that their lines carry the id too."""
    app.before_request(_bind_request_id)
    app.after_request(_echo_request_id)
    app.teardown_request(_unbind_request_id)
