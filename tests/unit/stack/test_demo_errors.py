"""The demo ends a failed prediction call with a clear error, never a traceback."""

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from devstack.rigs.demo import Demo, DemoError, DemoOptions
from devstack.stack.deployment import StackConfig


class _Unavailable(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = json.dumps({"message": "model endpoint unavailable"}).encode()
        self.send_response(503)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def unavailable_api() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Unavailable)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def _demo(api: str, tmp_path: Path) -> Demo:
    demo = Demo(DemoOptions(show=("C1",), config=StackConfig(state_dir=tmp_path)), say=print)
    demo.env = {"FEATURESTREAM_API_URL": api, "FEATURESTREAM_API_TOKEN": "t" * 24}
    return demo


def test_an_api_error_answer_ends_the_demo_with_its_status_and_message(unavailable_api, tmp_path):
    with pytest.raises(DemoError) as raised:
        _demo(unavailable_api, tmp_path)._predictions()
    assert str(raised.value) == (
        f"POST {unavailable_api}/predictions failed: the API answered 503: "
        "model endpoint unavailable"
    )


def test_an_unreachable_api_ends_the_demo_naming_the_connection_error(tmp_path):
    with pytest.raises(DemoError) as raised:
        _demo("http://127.0.0.1:9", tmp_path)._predictions()
    assert "predictions failed: URLError:" in str(raised.value)
    assert "Connection refused" in str(raised.value)
