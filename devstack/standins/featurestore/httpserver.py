"""The emulator's handler served over HTTP by the stand-ins' shared server helper.

:func:`wsgi_app` adapts a ``Request -> Response`` handler (``protocol.Handler``) to WSGI:
it reads the body under the helper's framing rules (a body that cannot be read is answered
here, in the wire shape botocore parses, before any handler runs), stamps a request id and
counts each operation's handler CPU (``time.thread_time``). :class:`HttpServer` serves it;
the benchmark's empty-handler baseline runs on exactly the same machinery.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterable
from http import HTTPStatus
from typing import TYPE_CHECKING

from devstack.standins.featurestore.protocol import Handler, Request, Response, next_request_id
from devstack.standins.http_service import (
    LoopbackWSGIServer,
    make_loopback_server,
    read_request_body,
)
from devstack.standins.loopback_http import BodyError

if TYPE_CHECKING:
    from email.message import Message
    from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

log = logging.getLogger("devstack.standins.featurestore.http")

MAX_BODY_BYTES = 16 * 1024 * 1024
"""Largest request body accepted: a BatchWriteRecord of 25 records at the 350 KiB record
limit is under 9 MiB, so anything larger is refused before it is read."""
METHODS = ("GET", "PUT", "POST", "DELETE", "HEAD")
_BODY_ERROR_CODES = {
    HTTPStatus.REQUEST_ENTITY_TOO_LARGE: "RequestEntityTooLargeException",
    HTTPStatus.REQUEST_TIMEOUT: "RequestTimeoutException",
}
_STATUS_LINES = {status.value: f"{status.value} {status.phrase}" for status in HTTPStatus}


class HandlerStats:
    """Calls and handler CPU seconds per operation, for the benchmark and /_emulator/stats."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls: dict[str, int] = {}
        self.cpu: dict[str, float] = {}

    def add(self, operation: str, cpu: float) -> None:
        with self._lock:
            self.calls[operation] = self.calls.get(operation, 0) + 1
            self.cpu[operation] = self.cpu.get(operation, 0.0) + cpu

    def snapshot(self) -> dict[str, dict[str, float]]:
        with self._lock:
            return {op: {"calls": n, "cpu_seconds": self.cpu[op]} for op, n in self.calls.items()}

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()
            self.cpu.clear()


def _body_error(error: BodyError) -> Response:
    """A framing error in the wire shape both protocols parse (``__type`` and the header)."""
    code = _BODY_ERROR_CODES.get(error.status, "SerializationException")
    payload = json.dumps({"__type": code, "message": error.message}).encode()
    headers = {"Content-Type": "application/json", "x-amzn-ErrorType": code}
    return Response(error.status.value, payload, headers, "-")


def wsgi_app(handler: Handler, stats: HandlerStats) -> WSGIApplication:
    """``handler`` as a WSGI app: body read, request id, per-operation CPU accounting."""

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        target: str = environ["devstack.target"]
        path, _, query = target.partition("?")
        started = time.perf_counter()
        try:
            body = read_request_body(environ, MAX_BODY_BYTES)
        except BodyError as error:
            response = _body_error(error)
            cpu_started = time.thread_time()
        else:
            cpu_started = time.thread_time()  # the handler's own CPU: not the body read
            headers: Message = environ["devstack.raw_headers"]
            response = handler(Request(environ["REQUEST_METHOD"], path, query, headers, body))
        stats.add(response.operation, time.thread_time() - cpu_started)
        status = _STATUS_LINES.get(response.status, f"{response.status} Error")
        start_response(status, [("x-amzn-RequestId", next_request_id()), *response.headers.items()])
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "%s %s %s -> %d (%.2f ms)",
                environ["REQUEST_METHOD"],
                target[:200],
                response.operation,
                response.status,
                (time.perf_counter() - started) * 1000,
            )
        return [response.body]

    return app


class HttpServer:
    """Serve ``handler`` on ``host:port`` (0 = a free port) in a background thread."""

    def __init__(self, handler: Handler, host: str = "127.0.0.1", port: int = 0) -> None:
        self.stats = HandlerStats()
        self._server: LoopbackWSGIServer = make_loopback_server(
            wsgi_app(handler, self.stats), host, port, methods=METHODS, access_log=log
        )
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self._server.bound_port

    @property
    def host(self) -> str:
        return str(self._server.server_address[0])

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.2},
            daemon=True,
            name=f"http-{self.port}",
        )
        self._thread.start()

    def stop(self, drain_seconds: float = 2.0) -> None:
        """Stop accepting, answer late requests with 503, then close open connections."""
        self._server.stop(drain_seconds)
        if self._thread is not None:
            self._thread.join(timeout=drain_seconds)
