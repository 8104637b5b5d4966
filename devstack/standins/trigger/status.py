"""The status endpoint on loopback: ``GET /health`` (200 when up), ``GET /status`` (JSON).

So ``featurestream local`` can wait for the runner like any background service, and the
demo can wait until consumers have caught up and print a summary. Anything else is a 4xx
(``devstack.standins.http_service``): other paths 404, other methods 405, a malformed body 4xx.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from http import HTTPStatus
from typing import TYPE_CHECKING

from devstack.standins.http_service import (
    LoopbackRequest,
    LoopbackWSGIServer,
    json_response,
    make_loopback_server,
)
from devstack.standins.loopback_http import BodyError

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIEnvironment

    from devstack.standins.trigger.runner import TriggerRunner

MAX_BODY_BYTES = 64 * 1024
"""The routes take no body; a small one is read and ignored, a larger one refused."""


def start_status_server(runner: TriggerRunner, host: str, port: int) -> LoopbackWSGIServer:
    """Serve the runner's status on ``host:port`` (0 = a free port) in a daemon thread."""

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = LoopbackRequest(environ)
        try:
            request.read_body(MAX_BODY_BYTES)
        except BodyError as error:
            response = json_response(error.status, {"message": error.message}, indent=1)
        else:
            path = request.path.rstrip("/")
            if path == "/health":
                response = json_response(HTTPStatus.OK, {"status": "ok"}, indent=1)
            elif path == "/status":
                response = json_response(HTTPStatus.OK, runner.status(), indent=1)
            else:
                message = {"message": "No such route: use /health or /status"}
                response = json_response(HTTPStatus.NOT_FOUND, message, indent=1)
        return response(environ, start_response)

    server = make_loopback_server(app, host, port, methods=["GET"])
    threading.Thread(target=server.serve_forever, name="status", daemon=True).start()
    return server
