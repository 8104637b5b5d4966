"""Threaded HTTP/1.1 server around a ``Request -> Response`` handler.

Separate from the emulator so the benchmark's empty-handler baseline runs on exactly the
same machinery. Keep-alive, Nagle off, one prebuilt write per response, and per-request
CPU accounting (``time.thread_time``) around the handler. The body is read by
``devstack.standins.loopback_http.read_body`` (bounded by Content-Length, a size cap and a
deadline);
a body that cannot be read is answered here, before any handler runs.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
import time
from http import HTTPStatus

from devstack.standins.featurestore.protocol import Handler, Request, Response, next_request_id
from devstack.standins.loopback_http import (
    BodyError,
    LoopbackRequestHandler,
    LoopbackServer,
    read_body,
)

log = logging.getLogger("devstack.standins.featurestore.http")

MAX_BODY_BYTES = 16 * 1024 * 1024
"""Largest request body accepted: a BatchWriteRecord of 25 records at the 350 KiB record
limit is under 9 MiB, so anything larger is refused before it is read."""
_BODY_ERROR_CODES = {
    HTTPStatus.REQUEST_ENTITY_TOO_LARGE: "RequestEntityTooLargeException",
    HTTPStatus.REQUEST_TIMEOUT: "RequestTimeoutException",
}
_REASONS = {status.value: status.phrase for status in HTTPStatus}


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


class _RequestHandler(LoopbackRequestHandler):
    disable_nagle_algorithm = True
    timeout = 120  # idle keep-alive connections are closed after this many seconds
    server: _Server

    def _serve(self) -> None:
        server = self.server
        path, _, query = self.path.partition("?")
        started = time.perf_counter()
        server.inflight += 1  # a GIL-atomic enough gauge; only used to drain on stop
        try:
            body = read_body(self, MAX_BODY_BYTES)
        except BodyError as error:
            response = _body_error(error)
            cpu_started = time.thread_time()
        else:
            cpu_started = time.thread_time()  # the handler's own CPU: not the body read
            response = self._respond(Request(self.command, path, query, self.headers, body))
        server.stats.add(response.operation, time.thread_time() - cpu_started)
        server.inflight -= 1
        head = [
            f"HTTP/1.1 {response.status} {_REASONS.get(response.status, 'Error')}",
            f"x-amzn-RequestId: {next_request_id()}",
            f"Content-Length: {len(response.body)}",
        ]
        head.extend(f"{k}: {v}" for k, v in response.headers.items())
        if self.close_connection:
            head.append("Connection: close")
        self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode() + response.body)
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "%s %s %s -> %d (%.2f ms)",
                self.command,
                self.path[:200],
                response.operation,
                response.status,
                (time.perf_counter() - started) * 1000,
            )

    def _respond(self, request: Request) -> Response:
        server = self.server
        if server.closing:
            return Response(
                503,
                b'{"message":"The emulator is shutting down"}',
                {"Content-Type": "application/json", "x-amzn-ErrorType": "ServiceUnavailable"},
            )
        return server.handler(request)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _serve

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, add=False)


class _Server(LoopbackServer):
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], handler: Handler) -> None:
        self.handler = handler
        self.stats = HandlerStats()
        self.closing = False
        self.inflight = 0
        self._connections: set[socket.socket] = set()
        self._conn_lock = threading.Lock()
        super().__init__(address, _RequestHandler)

    def track(self, conn: socket.socket, add: bool) -> None:
        with self._conn_lock:
            if add:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    def close_connections(self) -> None:
        with self._conn_lock:
            conns = list(self._connections)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class HttpServer:
    """Serve ``handler`` on ``host:port`` (0 = a free port) in a background thread."""

    def __init__(self, handler: Handler, host: str = "127.0.0.1", port: int = 0) -> None:
        self._server = _Server((host, port), handler)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def host(self) -> str:
        return str(self._server.server_address[0])

    @property
    def stats(self) -> HandlerStats:
        return self._server.stats

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
        self._server.shutdown()
        self._server.closing = True
        self._server.server_close()
        deadline = time.monotonic() + drain_seconds
        while self._server.inflight > 0 and time.monotonic() < deadline:
            time.sleep(0.005)
        self._server.close_connections()  # idle keep-alive connections
        if self._thread is not None:
            self._thread.join(timeout=drain_seconds)
