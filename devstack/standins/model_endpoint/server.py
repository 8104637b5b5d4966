"""``ModelEndpoint``: SageMaker runtime's ``InvokeEndpoint`` wire protocol on loopback.

``POST /endpoints/{EndpointName}/invocations`` (rest-json; the request is not signature
checked). Success is the container's body with its ``Content-Type`` and
``x-Amzn-Invoked-Production-Variant``. Errors use the service's codes and shapes
(https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_runtime_InvokeEndpoint.html),
so botocore raises the same exceptions it raises against AWS:

* unknown endpoint → 400 ``ValidationError`` "Endpoint <name> of account <acct> not found."
* body over 6 MiB → 400 ``ValidationError``, refused from its Content-Length before it is read
* a body that cannot be read (bad or repeated Content-Length, chunked, stalled) → 4xx
  ``ValidationError`` (``devstack.standins.loopback_http``)
* the container answers non-200 → 424 ``ModelError`` with ``OriginalStatusCode``,
  ``OriginalMessage`` and ``LogStreamArn``

``faults`` adds latency or answers with a chosen error (throttling, 5xx …) for tests and the
benchmark. Use in-process as a context manager, or ``python -m devstack.standins.model_endpoint``.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from devstack.stack.lifecycle import ServedOnThread
from devstack.standins.loopback_http import (
    BodyError,
    LoopbackRequestHandler,
    LoopbackServer,
    read_body,
)
from devstack.standins.model_endpoint.container import ModelContainer

log = logging.getLogger("devstack.standins.model_endpoint")

DEFAULT_ACCOUNT_ID = "123456789012"
DEFAULT_REGION = "us-east-1"
MAX_PAYLOAD_BYTES = 6 * 1024 * 1024
PAYLOAD_TOO_LARGE = f"Request payload exceeds {MAX_PAYLOAD_BYTES} bytes"
VARIANT = "AllTraffic"
HEALTH_PATH = "/_endpoint/health"


@dataclass
class EndpointFaults:
    """Artificial behaviour: ``latency_ms`` before answering; ``error_code`` answers every
    invocation with that error and ``error_status`` instead of calling the model."""

    latency_ms: float = 0.0
    error_code: str | None = None
    error_status: int = 500
    error_message: str = "injected fault"


class _Handler(LoopbackRequestHandler):
    disable_nagle_algorithm = True
    server: _Server

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in {**headers, "Content-Length": str(len(body))}.items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def _error(self, status: int, code: str, message: str, **extra: Any) -> None:
        body = json.dumps({"message": message, **extra}).encode()
        self._send(
            status,
            body,
            {
                "Content-Type": "application/json",
                "x-amzn-ErrorType": code,
                "x-amzn-RequestId": str(uuid.uuid4()),
            },
        )

    def do_GET(self) -> None:
        if self.path in (HEALTH_PATH, "/ping"):
            endpoint = self.server.endpoint
            info = {"endpoints": sorted(endpoint.names), "model_version": endpoint.model_version}
            self._send(200, json.dumps(info).encode(), {"Content-Type": "application/json"})
            return
        self._error(404, "UnknownOperationException", f"No GET route here: use {HEALTH_PATH}")

    def do_POST(self) -> None:
        try:
            body = read_body(self, MAX_PAYLOAD_BYTES)
        except BodyError as error:
            if error.status == HTTPStatus.REQUEST_ENTITY_TOO_LARGE:
                self._error(400, "ValidationError", PAYLOAD_TOO_LARGE)
            else:
                self._error(error.status, "ValidationError", error.message)
            return
        parts = self.path.split("?")[0].split("/")
        if len(parts) != 4 or parts[1] != "endpoints" or parts[3] != "invocations":
            self._error(
                404,
                "UnknownOperationException",
                "No POST route here: use /endpoints/{EndpointName}/invocations",
            )
            return
        self.server.endpoint.invoke(self, unquote(parts[2]), body)


class _Server(LoopbackServer):
    def __init__(self, address: tuple[str, int], endpoint: ModelEndpoint) -> None:
        super().__init__(address, _Handler)
        self.endpoint = endpoint


class ModelEndpoint(ServedOnThread):
    thread_name = "model-endpoint"

    """One or more endpoint names serving one model container."""

    def __init__(
        self,
        model_dir: Path | str,
        endpoint_names: tuple[str, ...] | list[str] = ("featurestream-reorder",),
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        account_id: str = DEFAULT_ACCOUNT_ID,
        region: str = DEFAULT_REGION,
        faults: EndpointFaults | None = None,
    ) -> None:
        self.container = ModelContainer(Path(model_dir))
        self.names = frozenset(endpoint_names)
        self.account_id = account_id
        self.region = region
        self.faults = faults or EndpointFaults()
        self.invocations = 0
        self._count_lock = threading.Lock()
        self._server = _Server((host, port), self)

    @property
    def model_version(self) -> str:
        return self.container.model_version

    @property
    def endpoint_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def invoke(self, request: _Handler, name: str, body: bytes) -> None:
        with self._count_lock:
            self.invocations += 1
        faults = self.faults
        if faults.latency_ms:
            time.sleep(faults.latency_ms / 1000)
        if name not in self.names:
            request._error(
                400,
                "ValidationError",
                f"Endpoint {name} of account {self.account_id} not found.",
            )
            return
        if faults.error_code:
            request._error(faults.error_status, faults.error_code, faults.error_message)
            return
        result = self.container.invoke(
            body, request.headers.get("Content-Type", ""), request.headers.get("Accept")
        )
        if result.status != 200:
            kind = "client" if result.status < 500 else "server"
            original = result.body.decode(errors="replace")
            request._error(
                424,
                "ModelError",
                f'Received {kind} error ({result.status}) from primary with message "{original}"',
                OriginalStatusCode=result.status,
                OriginalMessage=original,
                LogStreamArn=(
                    f"arn:aws:logs:{self.region}:{self.account_id}:log-group:"
                    f"/aws/sagemaker/Endpoints/{name}"
                ),
            )
            return
        request._send(
            200,
            result.body,
            {
                "Content-Type": result.content_type,
                "x-Amzn-Invoked-Production-Variant": VARIANT,
                "x-amzn-RequestId": str(uuid.uuid4()),
            },
        )

    # -- lifecycle ---------------------------------------------------------------------------
