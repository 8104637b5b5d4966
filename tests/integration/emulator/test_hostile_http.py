"""Hostile HTTP framing against every loopback server: the Feature Store emulator, the model
endpoint, the trigger runner's status server and the local API gateway.

Raw sockets on loopback, so the requests are exactly what a broken or hostile client sends.
Each must get a 4xx with a JSON message that does not echo the input, promptly, with the
connection closed when unread bytes remain; the server must keep serving and log no
traceback."""

import http.client
import json
import logging
import socket
import threading
import time
from dataclasses import dataclass

import pytest

from devstack.standins.api_gateway import LocalHttpApi
from devstack.standins.loopback_http import BODY_TIMEOUT_S
from devstack.standins.trigger.runner import TriggerRunner
from tests.fixtures.inference import ENDPOINT_NAME, customer_event

TOKEN = "hostile-test-token"
MARK = "Zq9hostile"  # put into hostile input; must never come back in an answer


@dataclass(frozen=True)
class Target:
    name: str
    port: int
    body_route: str  # "METHOD /path" of a route that reads a body
    health: str  # a GET path answered 200
    auth: str = ""  # extra header lines every request carries

    def request(self, head: str, body: bytes = b"") -> bytes:
        method, path = self.body_route.split(" ")
        return (
            f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{self.auth}{head}\r\n".encode() + body
        )


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    closed: bool  # the server closed the connection after answering
    seconds: float


def exchange(port: int, data: bytes, timeout: float = 10.0, *, wait_close: bool = True) -> Answer:
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)  # and keep the socket open: the server must not wait for more
        response = http.client.HTTPResponse(sock)
        response.begin()
        body = response.read()
        seconds = time.monotonic() - started
        sock.settimeout(1.0 if wait_close else 0.01)
        try:
            closed = sock.recv(1) == b""
        except TimeoutError:
            closed = False
    return Answer(response.status, body, closed, seconds)


@pytest.fixture
def api_gateway(inference_env):
    import handlers.inference

    handlers.inference.app.reset()
    inference_env.put(customer_event("C1"))
    with LocalHttpApi(handlers.inference.lambda_handler, TOKEN) as gateway:
        yield gateway
    handlers.inference.app.reset()


@pytest.fixture
def status_server(tmp_path):
    runner = TriggerRunner(mappings=[], status_port=0, log_file=tmp_path / "trigger.log")
    runner.start()
    yield runner
    runner.stop()


@pytest.fixture
def targets(featurestore_server, model_endpoint_server, api_gateway, status_server):
    def port(url: str) -> int:
        return int(url.rsplit(":", 1)[1])

    return [
        Target("emulator", featurestore_server.port, "POST /BatchGetRecord", "/_emulator/health"),
        Target(
            "model-endpoint",
            port(model_endpoint_server.endpoint_url),
            f"POST /endpoints/{ENDPOINT_NAME}/invocations",
            "/_endpoint/health",
        ),
        Target("status", port(status_server.status_url), "GET /status", "/health"),
        Target(
            "api-gateway",
            port(api_gateway.url),
            "POST /predictions",
            "/customers/C1/features",
            auth=f"Authorization: Bearer {TOKEN}\r\n",
        ),
    ]


@pytest.fixture
def quiet_logs(caplog, capfd):
    """After the test: no log record carries a traceback, and socketserver printed none
    (its default ``handle_error`` writes one to stderr for any exception in a handler)."""
    caplog.set_level(logging.DEBUG)
    yield
    with_tracebacks = [r.getMessage() for r in caplog.records if r.exc_info]
    assert with_tracebacks == []
    assert "Exception occurred during processing of request" not in capfd.readouterr().err


def _framing_cases() -> list[tuple[str, str, bytes, set[int]]]:
    """(case, header lines, body, acceptable statuses)."""
    return [
        ("non-numeric length", f"Content-Length: {MARK}\r\n", b"{}", {400}),
        ("negative length", "Content-Length: -1\r\n", b"{}", {400}),
        ("float length", "Content-Length: 1e3\r\n", b"{}", {400}),
        ("huge length", "Content-Length: " + "9" * 40 + "\r\n", b"{}", {400}),
        ("length over the cap", "Content-Length: 999999999999999\r\n", b"{}", {400, 413}),
        ("two lengths", "Content-Length: 2\r\nContent-Length: 3\r\n", b"{}", {400}),
        ("chunked", "Transfer-Encoding: chunked\r\n", b"2\r\n{}\r\n0\r\n\r\n", {411}),
        ("body cut short", "Content-Length: 50\r\n", b"{}", {400}),  # then the client closes
    ]


@pytest.mark.usefixtures("quiet_logs")
@pytest.mark.parametrize(
    ("case", "head", "body", "statuses"),
    _framing_cases(),
    ids=[c[0] for c in _framing_cases()],
)
def test_malformed_bodies_get_a_prompt_4xx_and_a_closed_connection(
    targets, case, head, body, statuses
):
    for target in targets:
        data = target.request(head, body)
        if case == "body cut short":
            with socket.create_connection(("127.0.0.1", target.port), timeout=10) as sock:
                sock.sendall(data)
                sock.shutdown(socket.SHUT_WR)  # EOF before Content-Length bytes
                response = http.client.HTTPResponse(sock)
                response.begin()
                answer = Answer(response.status, response.read(), True, 0.0)
        else:
            answer = exchange(target.port, data)
        assert answer.status in statuses, (target.name, answer)
        assert answer.seconds < 3, target.name  # answered at once, not after a read timeout
        assert answer.closed, target.name  # unread bytes never become the next request
        assert json.loads(answer.body)["message"], target.name
        assert MARK.encode() not in answer.body, target.name
        assert healthy(target), target.name


def healthy(target: Target) -> bool:
    return exchange(target.port, _get(target, target.health), wait_close=False).status == 200


def _get(target: Target, path: str, method: str = "GET", version: str = "HTTP/1.1") -> bytes:
    return f"{method} {path} {version}\r\nHost: 127.0.0.1\r\n{target.auth}\r\n".encode()


@pytest.mark.usefixtures("quiet_logs")
def test_protocol_errors_are_4xx_without_echo(targets):
    many_headers = "".join(f"X-{i}: {MARK}\r\n" for i in range(120))  # http.server allows 100
    for target in targets:
        cases = [
            (_get(target, "/", method=MARK), 405),  # unknown method (http.server says 501)
            (_get(target, "/" + MARK, version="HTTP/2.0"), 400),  # was 505
            (f"{MARK}\x00\x01 garbage\r\n\r\n".encode(), 400),
            (_get(target, "/" + "a" * 70_000 + MARK), 414),
            (("GET / HTTP/1.1\r\n" + many_headers + "\r\n").encode(), 431),
        ]
        for data, status in cases:
            answer = exchange(target.port, data)
            assert answer.status == status, (target.name, data[:40], answer)
            assert answer.closed, target.name
            assert json.loads(answer.body)["message"], target.name
            assert MARK.encode() not in answer.body, target.name
        assert healthy(target), target.name


@pytest.mark.usefixtures("quiet_logs")
def test_a_stalled_body_is_answered_408_within_the_body_timeout(targets):
    """All four at once: a client announces 100 bytes, sends 10 and waits."""
    answers: dict[str, Answer] = {}

    def stall(target: Target) -> None:
        data = target.request("Content-Length: 100\r\n", b'{"a": 1234')
        answers[target.name] = exchange(target.port, data, timeout=BODY_TIMEOUT_S + 10)

    threads = [threading.Thread(target=stall, args=(t,)) for t in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=BODY_TIMEOUT_S + 15)
    assert set(answers) == {t.name for t in targets}
    for name, answer in answers.items():
        assert answer.status == 408, (name, answer)
        assert BODY_TIMEOUT_S - 0.5 < answer.seconds < BODY_TIMEOUT_S + 3, name
        assert answer.closed, name


@pytest.mark.usefixtures("quiet_logs")
def test_a_refused_request_with_a_body_closes_the_connection(api_gateway):
    """401 before the body is read: the body must not be parsed as a second request."""
    port = int(api_gateway.url.rsplit(":", 1)[1])
    smuggled = b"GET /customers/C1/features HTTP/1.1\r\nHost: x\r\n\r\n"
    data = (
        f"POST /predictions HTTP/1.1\r\nHost: x\r\nContent-Length: {len(smuggled)}\r\n\r\n".encode()
        + smuggled
    )
    answer = exchange(port, data)
    assert answer.status == 401
    assert answer.closed


@pytest.mark.usefixtures("quiet_logs")
def test_the_gateway_answers_a_deeply_nested_body_with_400(api_gateway):
    """The inference handler parsed it into a RecursionError, answered 500 and logged it."""
    port = int(api_gateway.url.rsplit(":", 1)[1])
    body = b"[" * 20_000 + b"]" * 20_000  # under the 64 KiB body limit, far past any depth
    head = f"Authorization: Bearer {TOKEN}\r\nContent-Length: {len(body)}\r\n"
    data = f"POST /predictions HTTP/1.1\r\nHost: 127.0.0.1\r\n{head}\r\n".encode() + body
    answer = exchange(port, data, wait_close=False)
    assert answer.status == 400
    assert json.loads(answer.body)["message"] == "request body is nested too deeply"
