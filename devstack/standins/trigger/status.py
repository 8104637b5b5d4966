"""The status endpoint on loopback: ``GET /health`` (200 when up), ``GET /status`` (JSON).

So ``featurestream local`` can wait for the runner like any background service, and the
demo can wait until consumers have caught up and print a summary. Anything else is a 4xx
(``devstack.standins.loopback_http``): other paths 404, other methods 405, a malformed body 4xx.
"""

from __future__ import annotations

import json
import threading
from http import HTTPStatus
from typing import TYPE_CHECKING

from devstack.standins.loopback_http import (
    BodyError,
    LoopbackRequestHandler,
    LoopbackServer,
    read_body,
)

if TYPE_CHECKING:
    from devstack.standins.trigger.runner import TriggerRunner

MAX_BODY_BYTES = 64 * 1024
"""The routes take no body; a small one is read and ignored, a larger one refused."""


def start_status_server(runner: TriggerRunner, host: str, port: int) -> LoopbackServer:
    """Serve the runner's status on ``host:port`` (0 = a free port) in a daemon thread."""

    class Handler(LoopbackRequestHandler):
        def do_GET(self) -> None:
            try:
                read_body(self, MAX_BODY_BYTES)
            except BodyError as error:
                self._reply(error.status, {"message": error.message})
                return
            path = self.path.split("?", 1)[0].rstrip("/")
            if path == "/health":
                self._reply(HTTPStatus.OK, {"status": "ok"})
            elif path == "/status":
                self._reply(HTTPStatus.OK, runner.status())
            else:
                self._reply(
                    HTTPStatus.NOT_FOUND, {"message": "No such route: use /health or /status"}
                )

        def _reply(self, status: HTTPStatus, body: object) -> None:
            data = json.dumps(body, indent=1).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(data)

    server = LoopbackServer((host, port), Handler)
    threading.Thread(target=server.serve_forever, name="status", daemon=True).start()
    return server
