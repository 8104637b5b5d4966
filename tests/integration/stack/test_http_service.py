"""The werkzeug-based server helper the stand-ins share: the rules it keeps that werkzeug's
own server does not (a port in use is an ``OSError``, not ``sys.exit``; repeated but equal
``Content-Length`` headers are one length; the body and target arrive as sent)."""

import http.client
import json
import socket
import threading
from collections.abc import Iterable, Iterator
from wsgiref.types import StartResponse, WSGIEnvironment

import pytest

from devstack.standins.http_service import (
    LoopbackRequest,
    LoopbackWSGIServer,
    json_response,
    make_loopback_server,
)


def echo(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    request = LoopbackRequest(environ)
    body = request.read_body(1024)
    answer = {"target": request.target, "body": body.decode()}
    return json_response(200, answer)(environ, start_response)


@pytest.fixture
def server() -> Iterator[LoopbackWSGIServer]:
    server = make_loopback_server(echo, "127.0.0.1", 0, methods=["POST"])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def post(port: int, head: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head.encode() + b"\r\n" + body)
        response = http.client.HTTPResponse(sock)
        response.begin()
        return response.status, dict(response.getheaders()), response.read()


def test_a_port_in_use_raises_oserror_and_does_not_exit(server):
    port = int(server.server_address[1])
    assert port != 0
    with pytest.raises(OSError):
        make_loopback_server(echo, "127.0.0.1", port, methods=["POST"])


def test_equal_repeated_lengths_are_one_length_and_the_target_is_not_decoded(server):
    port = int(server.server_address[1])
    head = "POST /a%2Fb?x=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 2\r\n"
    status, headers, body = post(port, head, b"{}")
    assert status == 200
    assert json.loads(body) == {"target": "/a%2Fb?x=1", "body": "{}"}
    assert headers["Content-Type"] == "application/json"


def test_a_method_outside_the_served_set_is_405_json(server):
    port = int(server.server_address[1])
    status, headers, body = post(port, "GET / HTTP/1.1\r\nHost: x\r\n", b"")
    assert status == 405
    assert json.loads(body) == {"message": "Method Not Allowed"}
    assert headers["Connection"] == "close"
