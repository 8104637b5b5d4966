"""A fault-injecting HTTP hop in front of moto's DynamoDB: added latency and throttling.

moto answers every DynamoDB call at once and never throttles. The aggregate state's failure
model (featurestream.ingest.aggregate_state) and the handler bench need both, on the real
wire: the function's botocore client talks to this proxy, which forwards every request to
moto unchanged (body, headers, signature) and hands moto's answer back unchanged (so
botocore's CRC32 check of DynamoDB answers holds), except that

* every request touching ``table`` waits ``latency_ms`` first (a state store 10 ms away);
* a share ``throttle_rate`` of them is answered as DynamoDB answers a caller over its
  throughput: HTTP 400, ``ThrottlingException``. botocore retries it (standard mode), and
  what is still throttled after its attempts reaches the function as a ClientError.

Requests for other tables (or none) pass through untouched. ``injected`` counts the throttles.
"""

from __future__ import annotations

import http.client
import json
import random
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final
from urllib.parse import urlsplit

from devstack.standins.http_service import (
    LoopbackRequest,
    LoopbackResponse,
    LoopbackWSGIServer,
    json_response,
    make_loopback_server,
)

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIEnvironment

MAX_BODY: Final = 16 * 1024 * 1024
THROTTLED: Final = {
    "__type": "com.amazonaws.dynamodb.v20120810#ThrottlingException",
    "message": "Rate of requests exceeds the allowed throughput.",
}
_FORWARDED_HEADERS: Final = ("Content-Type", "x-amzn-RequestId", "x-amz-crc32")


@dataclass
class StateFaults:
    """What the proxy does to requests touching ``table`` (None: every table)."""

    table: str | None = None
    latency_ms: float = 0.0
    throttle_rate: float = 0.0
    seed: int | None = None
    injected: int = 0
    _rng: random.Random = field(default_factory=random.Random, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        if self.seed is not None:
            self._rng.seed(self.seed)

    def touches(self, body: bytes) -> bool:
        """Whether the request names the table (TableName, or a key of RequestItems)."""
        if self.table is None:
            return True
        try:
            request = json.loads(body or b"{}")
        except ValueError:
            return False
        names = {request.get("TableName")}
        names |= set(request.get("RequestItems") or {})
        for item in request.get("TransactItems") or []:
            names |= {part.get("TableName") for part in item.values() if isinstance(part, dict)}
        return self.table in names

    def throttle(self) -> bool:
        with self._lock:
            hit = self._rng.random() < self.throttle_rate
            self.injected += hit
        return hit


class DynamoDBFaultProxy:
    """The WSGI app: forwards to ``upstream`` (moto's URL) with :class:`StateFaults`."""

    def __init__(self, upstream: str, faults: StateFaults | None = None) -> None:
        parts = urlsplit(upstream)
        self._host, self._port = parts.hostname or "127.0.0.1", parts.port or 80
        self.faults = faults or StateFaults()
        self._local = threading.local()

    def _connection(self) -> http.client.HTTPConnection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = http.client.HTTPConnection(self._host, self._port, timeout=30)
            self._local.connection = connection
        return connection

    def _forward(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> http.client.HTTPResponse:
        for attempt in (1, 2):  # a kept-alive connection moto closed: one fresh try
            connection = self._connection()
            try:
                connection.request(method, path, body=body, headers=headers)
                return connection.getresponse()
            except (ConnectionError, http.client.HTTPException):
                connection.close()
                self._local.connection = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = LoopbackRequest(environ)
        body = request.read_body(MAX_BODY)
        faults = self.faults
        if faults.touches(body):
            if faults.latency_ms:
                time.sleep(faults.latency_ms / 1000)
            if faults.throttle_rate and faults.throttle():
                return json_response(400, THROTTLED)(environ, start_response)
        headers = {k: v for k, v in request.headers.items() if k.lower() != "host"}
        headers["Host"] = f"{self._host}:{self._port}"
        answer = self._forward(request.method, request.target, headers, body)
        content = answer.read()
        kept = {k: v for k in _FORWARDED_HEADERS if (v := answer.getheader(k)) is not None}
        return LoopbackResponse(content, answer.status, kept)(environ, start_response)


def start_proxy(
    upstream: str, faults: StateFaults | None = None, host: str = "127.0.0.1"
) -> tuple[DynamoDBFaultProxy, LoopbackWSGIServer, str]:
    """The proxy served on a free loopback port, on a daemon thread; its URL is the third
    element. Stop it with ``server.stop()``."""
    app = DynamoDBFaultProxy(upstream, faults)
    server = make_loopback_server(app, host, 0, methods=("POST", "GET"))
    threading.Thread(target=server.serve_forever, name="dynamodb-faults", daemon=True).start()
    return app, server, f"http://{host}:{server.bound_port}"


def main(argv: list[str] | None = None) -> int:
    """``python -m devstack.standins.dynamodb_faults --upstream URL [--latency-ms N]
    [--throttle-rate P] [--table NAME]``: serve until terminated; the first line printed is
    ``dynamodb-faults ready <url>``."""
    import argparse
    import signal
    import sys

    parser = argparse.ArgumentParser(prog="python -m devstack.standins.dynamodb_faults")
    parser.add_argument("--upstream", required=True, help="moto's URL")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--table", default=None, help="only this table (default: all)")
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--throttle-rate", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args(argv)
    faults = StateFaults(args.table, args.latency_ms, args.throttle_rate, args.seed)
    app = DynamoDBFaultProxy(args.upstream, faults)
    server = make_loopback_server(app, args.host, 0, methods=("POST", "GET"))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"dynamodb-faults ready http://{args.host}:{server.bound_port}", flush=True)
    try:
        server.serve_forever()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
