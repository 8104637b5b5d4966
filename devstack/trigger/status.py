"""The status endpoint on loopback: ``GET /health`` (200 when up), ``GET /status`` (JSON).

So ``featurestream local`` can wait for the runner like any background service, and the
demo can wait until consumers have caught up and print a summary.
"""

from __future__ import annotations

import json
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from devstack.trigger.runner import TriggerRunner


def start_status_server(runner: TriggerRunner, host: str, port: int) -> ThreadingHTTPServer:
    """Serve the runner's status on ``host:port`` (0 = a free port) in a daemon thread."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0].rstrip("/")
            if path == "/health":
                self._reply(HTTPStatus.OK, {"status": "ok"})
            elif path == "/status":
                self._reply(HTTPStatus.OK, runner.status())
            else:
                self._reply(HTTPStatus.NOT_FOUND, {"message": f"no route {path}"})

        def _reply(self, status: HTTPStatus, body: object) -> None:
            data = json.dumps(body, indent=1).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            """Quiet: health checks every 100 ms would drown the service log."""

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="status", daemon=True).start()
    return server
