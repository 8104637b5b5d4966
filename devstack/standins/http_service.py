"""One threaded HTTP/1.1 server for every loopback stand-in, with the hostile-framing rules.

A stand-in is a WSGI app; :func:`make_loopback_server` serves it on ``host:port``
(0 = a free port) on werkzeug's threaded server, and :class:`LoopbackRequest` reads its
body under the rules of ``devstack.standins.loopback_http``. What werkzeug does not do
itself is kept here:

* **keep-alive**: werkzeug's own ``run_wsgi`` answers every request with ``Connection:
  close`` and then drains the socket, which on a kept-alive connection would swallow the
  client's next request. The handler builds the environ and runs the app itself, and
  keeps the connection open when the app read the request's body with
  :meth:`LoopbackRequest.read_body`, so no unread byte can become the next request line;
  any other answer closes it. boto3 reuses its connections, and a new connection per call
  costs the emulator much of its throughput (measured in ``docs/emulator.md``);
* werkzeug keeps only the last of repeated ``Content-Length`` headers and de-chunks a
  ``Transfer-Encoding: chunked`` body, so the handler puts the request's headers as
  received in the environ and :meth:`LoopbackRequest.read_body` refuses both (400, 411);
  the request target as received is there too (``target``), before any URL decoding;
* werkzeug reads the body without a deadline, so the body is read from the socket under
  ``BODY_TIMEOUT_S`` (408 when it stalls);
* werkzeug hands every method to the app, so methods outside ``methods`` get a 405 here;
* werkzeug exits the process when the port is taken, so the socket is bound here
  (``SO_REUSEADDR``) and an ``OSError`` reaches the caller;
* :meth:`LoopbackWSGIServer.stop` answers late requests 503, lets running ones finish and
  closes idle kept-alive connections, so a stopped stand-in holds no client.

Protocol errors that ``http.server`` answers itself (bad request line or version, too long
a line, too many headers) are 4xx JSON without echo (``LoopbackRequestHandler``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable
from email.message import Message
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import unquote

from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler
from werkzeug.wrappers import Request, Response

from devstack.standins.loopback_http import (
    BODY_TIMEOUT_S,
    LoopbackRequestHandler,
    content_length,
    read_exactly,
)

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

log = logging.getLogger("devstack.http")

_RAW_HEADERS = "devstack.raw_headers"
"""Environ key: the request's headers as ``http.server`` parsed them (repeats kept)."""
_TARGET = "devstack.target"
"""Environ key: the request target as received (path and query, not decoded)."""
_BODY_READ = "devstack.body_read"
"""Environ key, set when :meth:`LoopbackRequest.read_body` consumed the whole body: only
then may the connection carry another request."""
_REASONS = {status.value: status.phrase for status in HTTPStatus}
_SHUTTING_DOWN = json.dumps({"message": "The service is shutting down"}).encode()


class LoopbackRequest(Request):
    """A werkzeug request whose body is read by :meth:`read_body`, never by werkzeug."""

    @property
    def raw_headers(self) -> Message:
        """The headers as received: repeated names kept, names with ``_`` not dropped."""
        return cast("Message", self.environ[_RAW_HEADERS])

    @property
    def target(self) -> str:
        """The request target as received, e.g. ``/endpoints/a%2Fb/invocations?x=1``."""
        return cast("str", self.environ[_TARGET])

    def read_body(self, max_bytes: int, timeout: float = BODY_TIMEOUT_S) -> bytes:
        """Exactly ``Content-Length`` bytes within ``max_bytes`` and ``timeout``;
        :class:`~devstack.standins.loopback_http.BodyError` otherwise."""
        return read_request_body(self.environ, max_bytes, timeout)


def read_request_body(
    environ: WSGIEnvironment, max_bytes: int, timeout: float = BODY_TIMEOUT_S
) -> bytes:
    """:meth:`LoopbackRequest.read_body` for an app that works on the environ directly."""
    headers = cast("Message", environ[_RAW_HEADERS])
    length = content_length(
        headers.get_all("Content-Length") or [],
        headers.get("Transfer-Encoding") is not None,
        max_bytes,
    )
    body = (
        read_exactly(environ["werkzeug.socket"], environ["wsgi.input"], length, timeout)
        if length
        else b""
    )
    environ[_BODY_READ] = True
    return body


class LoopbackResponse(Response):
    """A werkzeug response with only the headers it is given (and Content-Length): no
    default ``text/plain`` Content-Type, as the hand-written servers sent none."""

    default_mimetype = None


def json_response(
    status: int, body: object, headers: dict[str, str] | None = None, indent: int | None = None
) -> LoopbackResponse:
    """``body`` as a JSON response with its Content-Length."""
    return LoopbackResponse(
        json.dumps(body, indent=indent), status, headers, content_type="application/json"
    )


def _allow_methods(app: WSGIApplication, methods: frozenset[str]) -> WSGIApplication:
    """405 for a method the app does not serve, as ``http.server`` refused it before."""

    def guarded(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if environ["REQUEST_METHOD"] in methods:
            return app(environ, start_response)
        status = HTTPStatus.METHOD_NOT_ALLOWED
        return json_response(status, {"message": status.phrase})(environ, start_response)

    return guarded


class _Handler(LoopbackRequestHandler, WSGIRequestHandler):
    """Runs the WSGI app on werkzeug's environ and keeps the connection open for the next
    request when the body was read; JSON protocol errors, an idle timeout, quiet logs."""

    server: LoopbackWSGIServer
    disable_nagle_algorithm = True

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, add=False)

    def make_environ(self) -> WSGIEnvironment:
        """The WSGI environ of this request, with the headers and target as received.

        Built in one pass over the parsed headers: werkzeug's ``make_environ`` also handles
        TLS peer certificates, absolute-form targets and chunked input, none of which a
        loopback stand-in accepts, and every emulator call would pay for them."""
        path, _, query = self.path.partition("?")
        server = self.server
        environ: WSGIEnvironment = {
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": self.rfile,
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
            "werkzeug.socket": self.connection,
            "SERVER_SOFTWARE": self.server_version,
            "REQUEST_METHOD": self.command,
            "SCRIPT_NAME": "",
            "PATH_INFO": unquote(path, "latin-1"),
            "QUERY_STRING": query,
            "REQUEST_URI": self.path,
            "RAW_URI": self.path,
            "REMOTE_ADDR": self.client_address[0],
            "REMOTE_PORT": self.client_address[1],
            "SERVER_NAME": server.server_address[0],
            "SERVER_PORT": str(server.server_address[1]),
            "SERVER_PROTOCOL": self.request_version,
            _RAW_HEADERS: self.headers,
            _TARGET: self.path,
        }
        for name, value in self.headers.items():
            if "_" in name:  # as werkzeug: "X_Forwarded" must not pass for "X-Forwarded"
                continue
            key = name.upper().replace("-", "_")
            if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                environ[key] = value.replace("\r\n", "")
                continue
            key = "HTTP_" + key  # repeated headers are joined with commas, as werkzeug does
            joined = f"{environ[key]},{value}" if key in environ else value
            environ[key] = joined.replace("\r\n", "")
        return environ

    def run_wsgi(self) -> None:
        """One request: the app's whole answer in one write, with its Content-Length."""
        server = self.server
        server.add_inflight(1)
        try:
            self.environ = environ = self.make_environ()
            if server.closing:
                status, headers, body = self._shutting_down()
            else:
                status, headers, body = self._call_app(environ)
            if not environ.get(_BODY_READ):
                self.close_connection = True  # unread bytes must not become a request
            self._write(status, headers, body)
        finally:
            server.add_inflight(-1)

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = run_wsgi
    """Found directly: werkzeug's ``__getattr__`` fallback costs two failed lookups a call."""

    def _call_app(self, environ: WSGIEnvironment) -> tuple[str, list[tuple[str, str]], bytes]:
        started: list[Any] = []

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Callable[[bytes], None]:
            started[:] = [status, headers]
            return self._no_write

        try:
            chunks = self.server.app(environ, start_response)
            try:
                body = b"".join(chunks)
            finally:
                close = getattr(chunks, "close", None)
                if close is not None:
                    close()
        except Exception as error:  # an app bug: a 500 without a traceback on the wire
            self.server.log("error", "request failed: %r", error)
            self.close_connection = True
            status = HTTPStatus.INTERNAL_SERVER_ERROR
            return (
                f"{status.value} {status.phrase}",
                [("Content-Type", "application/json")],
                json.dumps({"message": status.phrase}).encode(),
            )
        return started[0], started[1], body

    def _shutting_down(self) -> tuple[str, list[tuple[str, str]], bytes]:
        self.close_connection = True
        status = HTTPStatus.SERVICE_UNAVAILABLE
        headers = [("Content-Type", "application/json"), ("x-amzn-ErrorType", "ServiceUnavailable")]
        return f"{status.value} {status.phrase}", headers, _SHUTTING_DOWN

    @staticmethod
    def _no_write(data: bytes) -> None:
        raise RuntimeError("the stand-ins return their body; the write() callable is unused")

    def _write(self, status: str, headers: list[tuple[str, str]], body: bytes) -> None:
        """Status line, the app's headers, the framing headers and the body in one write
        (two writes with Nagle off still cost the client a round trip per response)."""
        code = int(status.split(None, 1)[0])
        lines = [f"{self.protocol_version} {status}"]
        lines.extend(f"{k}: {v}" for k, v in headers if k.lower() not in _FRAMING_HEADERS)
        if code not in (204, 304):
            announced = [v for k, v in headers if k.lower() == "content-length"]
            is_head = self.command == "HEAD"
            lines.append(f"Content-Length: {announced[0] if is_head and announced else len(body)}")
        if self.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        self.wfile.write(head if self.command == "HEAD" or code in (204, 304) else head + body)
        self.log_request(code, len(body))

    def log(self, type: str, message: str, *args: Any) -> None:
        """werkzeug's access and error lines, at the server's level, without tracebacks."""
        server = self.server
        server.access_log.log(server.access_level, "%s " + message, self.address_string(), *args)

    def log_message(self, format: str, *args: Any) -> None:
        self.log("info", format, *args)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """The stdlib's access line (werkzeug's adds terminal colours when click is
        installed), built only when the access log is on: every request would pay for it."""
        server = self.server
        if server.access_log.isEnabledFor(server.access_level):
            self.log_message('"%s" %s %s', self.requestline, str(code), str(size))


_FRAMING_HEADERS = frozenset({"content-length", "connection", "transfer-encoding"})
"""Framing headers the handler writes itself, whatever the app set."""


class LoopbackWSGIServer(ThreadedWSGIServer):
    """werkzeug's threaded server that tracks its requests and connections so :meth:`stop`
    can drain them; a connection failure is a debug line, not a traceback."""

    access_log = log
    access_level = logging.DEBUG
    request_queue_size = 128

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.closing = False
        self._inflight = 0
        self._connections: set[socket.socket] = set()
        self._lock = threading.Lock()

    def track(self, connection: socket.socket, add: bool) -> None:
        with self._lock:
            if add:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)

    def add_inflight(self, delta: int) -> None:
        with self._lock:
            self._inflight += delta

    def stop(self, drain_seconds: float = 2.0) -> None:
        """Stop accepting, answer late requests with 503, let running requests finish
        (up to ``drain_seconds``), then close the open connections."""
        self.shutdown()
        self.closing = True
        self.server_close()
        deadline = time.monotonic() + drain_seconds
        while self._inflight > 0 and time.monotonic() < deadline:
            time.sleep(0.005)
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        error = sys.exc_info()[1]
        if isinstance(error, OSError):  # the client went away: reset, broken pipe, timeout
            log.debug("connection from %s ended: %r", client_address, error)
            return
        log.error("request from %s failed: %r", client_address, error)

    def log(self, type: str, message: str, *args: Any) -> None:
        log.error(message, *args)

    @property
    def bound_port(self) -> int:
        return int(self.server_address[1])


def make_loopback_server(
    app: WSGIApplication,
    host: str,
    port: int,
    *,
    methods: Iterable[str],
    access_log: logging.Logger = log,
    access_level: int = logging.DEBUG,
) -> LoopbackWSGIServer:
    """A threaded server for ``app`` bound to ``host:port`` (0 = a free port; the bound
    one is ``bound_port``). Run it with ``serve_forever`` on a thread; end it with
    ``stop``. A port in use raises ``OSError``. Request and protocol-error lines go to
    ``access_log`` at ``access_level``."""
    with socket.create_server((host, port)) as listener:  # sets SO_REUSEADDR on POSIX
        server = LoopbackWSGIServer(
            host,
            listener.getsockname()[1],
            _allow_methods(app, frozenset(m.upper() for m in methods)),
            handler=cast("type[WSGIRequestHandler]", _Handler),
            fd=listener.fileno(),
        )
    server.access_log, server.access_level = access_log, access_level
    return server
