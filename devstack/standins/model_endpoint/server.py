"""``ModelEndpoint``: SageMaker runtime's ``InvokeEndpoint`` wire protocol on loopback.

``POST /endpoints/{EndpointName}/invocations`` (rest-json; the request is not signature
checked). Success is the container's body with its ``Content-Type`` and
``x-Amzn-Invoked-Production-Variant``. Errors use the service's codes and shapes
(https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_runtime_InvokeEndpoint.html),
so botocore raises the same exceptions it raises against AWS:

* unknown endpoint → 400 ``ValidationError`` "Endpoint <name> of account <acct> not found."
* body over 6 MiB → 400 ``ValidationError``, refused from its Content-Length before it is read
* a body that cannot be read (bad or repeated Content-Length, chunked, stalled) → 4xx
  ``ValidationError`` (``devstack.standins.http_service``)
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
from collections.abc import Iterable
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from devstack.stack.lifecycle import ServedOnThread
from devstack.standins.http_service import (
    LoopbackRequest,
    LoopbackResponse,
    make_loopback_server,
)
from devstack.standins.loopback_http import BodyError
from devstack.standins.model_endpoint.container import ModelContainer

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIEnvironment

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


def _reply(status: int, body: bytes, headers: dict[str, str]) -> LoopbackResponse:
    return LoopbackResponse(body, status, headers)


def _error(status: int, code: str, message: str, **extra: Any) -> LoopbackResponse:
    body = json.dumps({"message": message, **extra}).encode()
    headers = {
        "Content-Type": "application/json",
        "x-amzn-ErrorType": code,
        "x-amzn-RequestId": str(uuid.uuid4()),
    }
    return _reply(status, body, headers)


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
        self._server = make_loopback_server(self._app, host, port, methods=["GET", "POST"])

    @property
    def model_version(self) -> str:
        return self.container.model_version

    @property
    def endpoint_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def _app(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = LoopbackRequest(environ)
        response = self._get(request) if request.method == "GET" else self._post(request)
        return response(environ, start_response)

    def _get(self, request: LoopbackRequest) -> LoopbackResponse:
        if request.target in (HEALTH_PATH, "/ping"):
            info = {"endpoints": sorted(self.names), "model_version": self.model_version}
            return _reply(200, json.dumps(info).encode(), {"Content-Type": "application/json"})
        return _error(404, "UnknownOperationException", f"No GET route here: use {HEALTH_PATH}")

    def _post(self, request: LoopbackRequest) -> LoopbackResponse:
        try:
            body = request.read_body(MAX_PAYLOAD_BYTES)
        except BodyError as error:
            if error.status == HTTPStatus.REQUEST_ENTITY_TOO_LARGE:
                return _error(400, "ValidationError", PAYLOAD_TOO_LARGE)
            return _error(error.status, "ValidationError", error.message)
        parts = request.target.split("?")[0].split("/")
        if len(parts) != 4 or parts[1] != "endpoints" or parts[3] != "invocations":
            return _error(
                404,
                "UnknownOperationException",
                "No POST route here: use /endpoints/{EndpointName}/invocations",
            )
        return self.invoke(request, unquote(parts[2]), body)

    def invoke(self, request: LoopbackRequest, name: str, body: bytes) -> LoopbackResponse:
        with self._count_lock:
            self.invocations += 1
        faults = self.faults
        if faults.latency_ms:
            time.sleep(faults.latency_ms / 1000)
        if name not in self.names:
            return _error(
                400,
                "ValidationError",
                f"Endpoint {name} of account {self.account_id} not found.",
            )
        if faults.error_code:
            return _error(faults.error_status, faults.error_code, faults.error_message)
        headers = request.raw_headers
        result = self.container.invoke(body, headers.get("Content-Type", ""), headers.get("Accept"))
        if result.status != 200:
            kind = "client" if result.status < 500 else "server"
            original = result.body.decode(errors="replace")
            return _error(
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
        return _reply(
            200,
            result.body,
            {
                "Content-Type": result.content_type,
                "x-Amzn-Invoked-Production-Variant": VARIANT,
                "x-amzn-RequestId": str(uuid.uuid4()),
            },
        )

    # -- lifecycle ---------------------------------------------------------------------------
