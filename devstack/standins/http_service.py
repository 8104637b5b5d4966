"""One threaded werkzeug server for the loopback stand-ins, with the hostile-framing rules.

A stand-in is a WSGI app; :func:`make_loopback_server` serves it on ``host:port``
(0 = a free port) with werkzeug's threaded dev server, and :class:`LoopbackRequest` reads
its body under the rules of ``devstack.standins.loopback_http``. What werkzeug does not
enforce itself is kept here:

* werkzeug keeps only the last of repeated ``Content-Length`` headers and de-chunks a
  ``Transfer-Encoding: chunked`` body, so the handler puts the request's headers as
  received in the environ and :meth:`LoopbackRequest.read_body` refuses both (400, 411);
  the request target as received is there too (``target``), before any URL decoding;
* werkzeug reads the body without a deadline, so the body is read from the socket under
  ``BODY_TIMEOUT_S`` (408 when it stalls);
* werkzeug hands every method to the app, so methods outside ``methods`` get a 405 here;
* werkzeug exits the process when the port is taken, so the socket is bound here
  (``SO_REUSEADDR``) and an ``OSError`` reaches the caller.

Protocol errors that ``http.server`` answers itself (bad request line or version, too long
a line, too many headers) are 4xx JSON without echo (``LoopbackRequestHandler``). werkzeug
closes the connection after every response, so unread bytes never become a request. The
Feature Store emulator stays on ``http.server``: a connection per call costs it too much
throughput (measured in ``docs/emulator.md``).
"""

from __future__ import annotations

import json
import logging
import socket
import sys
from collections.abc import Iterable
from email.message import Message
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, cast

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
        headers = self.raw_headers
        length = content_length(
            headers.get_all("Content-Length") or [],
            headers.get("Transfer-Encoding") is not None,
            max_bytes,
        )
        if not length:
            return b""
        environ = self.environ
        return read_exactly(environ["werkzeug.socket"], environ["wsgi.input"], length, timeout)


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
    """werkzeug's WSGI handler with JSON protocol errors, an idle timeout and quiet logs."""

    server: LoopbackWSGIServer
    disable_nagle_algorithm = True

    def make_environ(self) -> WSGIEnvironment:
        environ = super().make_environ()
        environ[_RAW_HEADERS] = self.headers
        environ[_TARGET] = self.path
        return environ

    def log(self, type: str, message: str, *args: Any) -> None:
        """werkzeug's access and error lines, at the server's level, without tracebacks."""
        server = self.server
        server.access_log.log(server.access_level, "%s " + message, self.address_string(), *args)

    def log_message(self, format: str, *args: Any) -> None:
        self.log("info", format, *args)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """The stdlib's access line: werkzeug's adds terminal colours when click is installed."""
        self.log_message('"%s" %s %s', self.requestline, str(code), str(size))


class LoopbackWSGIServer(ThreadedWSGIServer):
    """werkzeug's threaded server; a connection failure is a debug line, not a traceback."""

    access_log = log
    access_level = logging.DEBUG

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
    """A threaded werkzeug server for ``app`` bound to ``host:port`` (0 = a free port; the
    bound one is ``bound_port``). Run it with ``serve_forever`` on a thread; stop it with
    ``shutdown`` then ``server_close``. A port in use raises ``OSError``. Request and
    protocol-error lines go to ``access_log`` at ``access_level``."""
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
