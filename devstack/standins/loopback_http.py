"""The framing rules every loopback stand-in keeps, so hostile requests get a 4xx, not a hang.

``devstack.standins.http_service`` (the one server helper of the stand-ins) builds on these:
:func:`content_length` turns the request's ``Content-Length`` and ``Transfer-Encoding``
headers into one length or a :class:`BodyError`; :func:`read_exactly` reads that many bytes
within a deadline; :class:`LoopbackRequestHandler` answers the protocol errors that
``http.server`` detects itself (bad request line, unknown method, too many headers) with a
4xx JSON body that never echoes the request, and logs a client that hangs up as one debug
line, never a traceback.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import socket
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import Any

log = logging.getLogger("devstack.http")

BODY_TIMEOUT_S = 5.0
"""A whole request body must arrive within this many seconds (loopback clients send it at
once; a stalled body is a broken or hostile client and must not hold a thread)."""
IDLE_TIMEOUT_S = 60.0
"""A connection that sends no request line within this many seconds is closed."""
_MAX_LENGTH_DIGITS = 15  # 999 TB: any longer Content-Length is refused before int()
_CHUNK = 64 * 1024
_AS_CLIENT_ERRORS = {
    HTTPStatus.NOT_IMPLEMENTED: HTTPStatus.METHOD_NOT_ALLOWED,  # unknown method
    HTTPStatus.HTTP_VERSION_NOT_SUPPORTED: HTTPStatus.BAD_REQUEST,  # e.g. "HTTP/2.0"
}
"""http.server answers these malformed requests with a 5xx; they are the client's fault."""


class BodyError(Exception):
    """The request's body cannot be read: ``status`` (4xx) and a message naming the header."""

    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def content_length(values: list[str], chunked: bool, max_bytes: int) -> int:
    """The announced body length from every ``Content-Length`` value the request carried
    (``chunked``: it also named a ``Transfer-Encoding``); :class:`BodyError` otherwise."""
    if chunked:
        raise BodyError(
            HTTPStatus.LENGTH_REQUIRED,
            "Transfer-Encoding is not supported: send the body with a Content-Length header",
        )
    distinct = {v.strip() for v in values}
    if not distinct:
        return 0
    if len(distinct) > 1:
        raise BodyError(HTTPStatus.BAD_REQUEST, "Content-Length is given more than once")
    text = distinct.pop()
    if not (text.isascii() and text.isdigit()) or len(text) > _MAX_LENGTH_DIGITS:
        raise BodyError(HTTPStatus.BAD_REQUEST, "Content-Length must be a non-negative integer")
    length = int(text)
    if length > max_bytes:
        raise BodyError(
            HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
            f"Content-Length exceeds the {max_bytes}-byte limit of this endpoint",
        )
    return length


def read_exactly(
    connection: socket.socket, rfile: io.BufferedIOBase, length: int, timeout: float
) -> bytes:
    """``length`` bytes from ``rfile`` (reading ``connection``) within ``timeout`` seconds;
    :class:`BodyError` 408 when they stall, 400 when the stream ends first."""
    deadline = time.monotonic() + timeout
    idle_timeout = connection.gettimeout()
    parts: list[bytes] = []
    remaining = length
    try:
        while remaining:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            connection.settimeout(left)
            chunk = rfile.read1(min(remaining, _CHUNK))
            if not chunk:
                raise BodyError(
                    HTTPStatus.BAD_REQUEST, "The body ended before Content-Length bytes arrived"
                )
            parts.append(chunk)
            remaining -= len(chunk)
    except TimeoutError:
        raise BodyError(
            HTTPStatus.REQUEST_TIMEOUT,
            f"The body did not arrive within {timeout:g} s of the request headers",
        ) from None
    finally:
        with contextlib.suppress(OSError):
            connection.settimeout(idle_timeout)
    return b"".join(parts)


class LoopbackRequestHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 handler base: idle timeout, 4xx JSON for protocol errors, quiet logs."""

    protocol_version = "HTTP/1.1"
    timeout = IDLE_TIMEOUT_S

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own error answers (bad request line, unknown method, too many
        headers...): a JSON body with the status phrase only, never the offending input,
        and the connection closed."""
        status = _AS_CLIENT_ERRORS.get(HTTPStatus(code), HTTPStatus(code))
        self.log_error("%d %s", status.value, status.phrase)
        if self.request_version == "HTTP/0.9":  # a two-word request line: still say why
            self.request_version = "HTTP/1.0"
        body = json.dumps({"message": status.phrase}).encode()
        self.close_connection = True
        self.send_response(status)
        self.send_header("Connection", "close")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Access and error lines at debug level: health checks would drown a service log."""
        log.debug("%s " + format, self.address_string(), *args)
