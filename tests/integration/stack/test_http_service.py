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


def read_answers(sock: socket.socket, count: int) -> list[tuple[int, dict[str, str], bytes]]:
    """``count`` responses read in order from one connection (``http.client`` closes its
    file after one response, so the framing is read here: status, headers, body)."""
    reader = sock.makefile("rb")
    answers = []
    for _ in range(count):
        status = int(reader.readline().split()[1])
        headers = {}
        while (line := reader.readline().decode("latin-1").strip()) != "":
            name, _, value = line.partition(":")
            headers[name.strip()] = value.strip()
        answers.append((status, headers, reader.read(int(headers["Content-Length"]))))
    return answers


def request(target: str, body: bytes) -> bytes:
    head = f"POST {target} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n\r\n"
    return head.encode() + body


def test_a_connection_carries_many_requests_even_when_sent_back_to_back(server):
    """Keep-alive: boto3 reuses its connections. Three requests written in one go must get
    three answers in order on the same connection: none swallowed, none mixed."""
    port = int(server.server_address[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request("/1", b'{"n":1}') + request("/2", b"") + request("/3", b"[3]"))
        answers = read_answers(sock, 3)
        sock.sendall(request("/4", b"4"))  # and the connection is still open afterwards
        answers += read_answers(sock, 1)
    assert [json.loads(body) for _, _, body in answers] == [
        {"target": "/1", "body": '{"n":1}'},
        {"target": "/2", "body": ""},
        {"target": "/3", "body": "[3]"},
        {"target": "/4", "body": "4"},
    ]
    assert all(headers.get("Connection") != "close" for _, headers, _ in answers)


def test_an_answer_without_reading_the_body_closes_the_connection(server):
    """The 405 guard never reads the body: its bytes must not be parsed as a request."""
    port = int(server.server_address[1])
    smuggled = request("/smuggled", b"")
    head = f"PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: {len(smuggled)}\r\n\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head.encode() + smuggled)
        [(status, headers, _)] = read_answers(sock, 1)
        sock.settimeout(2)
        rest = sock.recv(1024)
    assert status == 405
    assert headers["Connection"] == "close"
    assert rest == b""  # closed, and no second answer for the smuggled request


def test_stop_closes_idle_kept_alive_connections_and_refuses_late_requests():
    server = make_loopback_server(echo, "127.0.0.1", 0, methods=["POST"])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    with socket.create_connection(("127.0.0.1", server.bound_port), timeout=10) as sock:
        sock.sendall(request("/before", b""))
        [(status, _, _)] = read_answers(sock, 1)
        assert status == 200
        server.stop(drain_seconds=1)
        sock.settimeout(2)
        assert sock.recv(1024) == b""  # the idle connection was closed by the stop
    thread.join(timeout=5)
    assert not thread.is_alive()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", server.bound_port), timeout=2)


def test_the_environ_reads_as_werkzeug_reads_it():
    """The helper builds the WSGI environ itself: werkzeug's request object must still see
    the decoded path, the raw query, repeated headers joined, and no header named with ``_``
    (which could pass for one named with ``-``)."""
    seen: dict[str, object] = {}

    def inspect(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = LoopbackRequest(environ)
        request.read_body(1024)
        seen.update(
            method=request.method,
            path=request.path,
            query=request.query_string,
            args=request.args.to_dict(flat=False),
            thing=request.headers.get("X-Thing"),
            underscore=request.headers.get("X-Forwarded-For"),
            content_type=request.content_type,
            length=request.content_length,
        )
        return json_response(200, {})(environ, start_response)

    server = make_loopback_server(inspect, "127.0.0.1", 0, methods=["POST"])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        head = (
            "POST /a%20b/c?x=1&x=2&y=%2F HTTP/1.1\r\nHost: x\r\nX-Thing: one\r\nX-Thing: two\r\n"
            "X_Forwarded_For: 10.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 2\r\n"
        )
        status, _, _ = post(server.bound_port, head, b"{}")
    finally:
        server.stop()
    assert status == 200
    assert seen == {
        "method": "POST",
        "path": "/a b/c",
        "query": b"x=1&x=2&y=%2F",
        "args": {"x": ["1", "2"], "y": ["/"]},
        "thing": "one,two",
        "underscore": None,
        "content_type": "application/json",
        "length": 2,
    }
