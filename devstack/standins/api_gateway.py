"""A local API Gateway HTTP API in front of a Lambda handler (a Docker-free
``sam local start-api``), for ``featurestream serve``.

Each HTTP request becomes the payload format 2.0 event API Gateway builds (``routeKey``,
``rawPath``, lower-cased ``headers``, ``pathParameters``, ``requestContext`` with
``requestId`` and ``timeEpoch``), the handler is called in-process with a Lambda-like
context, and its ``{statusCode, headers, body, isBase64Encoded}`` becomes the HTTP response.
Requests not matching a route go to ``$default`` (the template routes it to the same
function, which answers 400). Calls are serialised: one warm container, one request at a time.

The deployed API uses IAM authorisation; locally a bearer token stands in for it: every
request without ``Authorization: Bearer <token>`` is answered 401 and never reaches the
handler. The header is not passed on, so the token cannot end up in handler logs.
A body that cannot be read (bad Content-Length, chunked, over 10 MiB, stalled) is a 4xx
before the handler runs (``devstack.standins.http_service``).
"""

from __future__ import annotations

import base64
import hmac
import json
import logging
import re
import threading
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote

from devstack.stack.lambda_context import ACCOUNT_ID, LocalContext
from devstack.stack.lifecycle import ServedOnThread
from devstack.standins.http_service import (
    LoopbackRequest,
    LoopbackResponse,
    make_loopback_server,
)
from devstack.standins.loopback_http import BodyError

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIEnvironment

log = logging.getLogger("devstack.standins.api_gateway")

Handler = Callable[[dict[str, Any], Any], Any]
DEFAULT_ROUTES = ("GET /customers/{customer_id}/features", "POST /predictions")
MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit
METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH")


@dataclass(frozen=True)
class Route:
    key: str
    method: str
    pattern: re.Pattern[str]

    @classmethod
    def parse(cls, key: str) -> Route:
        method, template = key.split(" ", 1)
        regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template))
        return cls(key, method.upper(), re.compile(f"^{regex}$"))


def build_event(
    method: str,
    target: str,
    headers: dict[str, str],
    body: bytes,
    routes: Sequence[Route],
    *,
    source_ip: str = "127.0.0.1",
    api_id: str = "local",
) -> dict[str, Any]:
    """The HTTP API payload format 2.0 event for one request."""
    raw_path, _, query = target.partition("?")  # origin-form target; no URL parsing to fail
    path = unquote(raw_path) or "/"
    route_key, params = "$default", None
    for route in routes:
        match = route.pattern.match(path)
        if match and route.method == method.upper():
            route_key, params = route.key, match.groupdict()
            break
    now = datetime.now(UTC)
    lowered = {k.lower(): v for k, v in headers.items() if k.lower() != "authorization"}
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": query,
        "headers": lowered,
        "requestContext": {
            "accountId": ACCOUNT_ID,
            "apiId": api_id,
            "authorizer": {"iam": {"accountId": ACCOUNT_ID, "userArn": "local-bearer-token"}},
            "domainName": lowered.get("host", "localhost"),
            "domainPrefix": "localhost",
            "http": {
                "method": method.upper(),
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": lowered.get("user-agent", ""),
            },
            "requestId": base64.urlsafe_b64encode(uuid.uuid4().bytes[:12]).decode(),
            "routeKey": route_key,
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "isBase64Encoded": False,
    }
    if query:
        event["queryStringParameters"] = dict(parse_qsl(query))
    if params:
        event["pathParameters"] = params
    if body:
        try:
            event["body"] = body.decode("utf-8")
        except UnicodeDecodeError:
            event["body"], event["isBase64Encoded"] = base64.b64encode(body).decode(), True
    return event


def _proxy_response(result: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
    """A handler's ``{statusCode, headers, body, isBase64Encoded}`` as status, headers, body."""
    body = result.get("body") or ""
    payload = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode()
    headers = {str(k): str(v) for k, v in (result.get("headers") or {}).items()}
    return int(result["statusCode"]), headers, payload


def _message(status: int, message: str, **headers: str) -> LoopbackResponse:
    body = json.dumps({"message": message}).encode()
    return LoopbackResponse(body, status, {"Content-Type": "application/json", **headers})


class LocalHttpApi(ServedOnThread):
    """An HTTP API on loopback calling ``handler`` (a Lambda handler function)."""

    def __init__(
        self,
        handler: Handler,
        token: str,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        function_name: str = "InferenceFunction",
        routes: Sequence[str] = DEFAULT_ROUTES,
    ) -> None:
        if not token:
            raise ValueError("a bearer token is required: the real API requires IAM auth")
        self.handler = handler
        self.token = token
        self.function_name = function_name
        self.routes = tuple(Route.parse(key) for key in routes)
        self._lock = threading.Lock()
        self._server = make_loopback_server(
            self._app, host, port, methods=METHODS, access_log=log, access_level=logging.INFO
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def _app(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        return self._respond(LoopbackRequest(environ))(environ, start_response)

    def _respond(self, request: LoopbackRequest) -> LoopbackResponse:
        """401 without the token (the body unread), 4xx for a body that cannot be read,
        otherwise the handler's answer. werkzeug closes the connection after each answer,
        so an unread body never becomes a request."""
        supplied = request.raw_headers.get("Authorization", "")
        expected = f"Bearer {self.token}"
        if not hmac.compare_digest(supplied.encode(), expected.encode()):
            return _message(401, "Unauthorized", **{"WWW-Authenticate": "Bearer"})
        try:
            body = request.read_body(MAX_BODY_BYTES)
        except BodyError as error:
            too_large = error.status == HTTPStatus.REQUEST_ENTITY_TOO_LARGE
            return _message(
                error.status, "Request Entity Too Large" if too_large else error.message
            )
        event = build_event(
            request.method,
            request.target,
            dict(request.raw_headers.items()),
            body,
            self.routes,
            source_ip=request.environ["REMOTE_ADDR"],
        )
        status, headers, payload = self.invoke(event)
        headers["apigw-requestid"] = event["requestContext"]["requestId"]
        return LoopbackResponse(payload, status, headers)

    def invoke(self, event: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
        """Call the handler as Lambda would and translate its result as API Gateway does."""
        try:
            with self._lock:
                result = self.handler(event, LocalContext.for_function(self.function_name))
        except Exception:
            log.exception("handler raised")
            return 500, {"Content-Type": "application/json"}, b'{"message":"Internal Server Error"}'
        if not (isinstance(result, dict) and "statusCode" in result):
            # format 2.0 without statusCode: API Gateway answers 200 with the value as JSON
            return 200, {"Content-Type": "application/json"}, json.dumps(result).encode()
        try:
            return _proxy_response(result)
        except (TypeError, ValueError):  # API Gateway's "malformed Lambda proxy response"
            log.exception("handler returned a malformed response")
            return 502, {"Content-Type": "application/json"}, b'{"message":"Internal Server Error"}'

    def serve_forever(self) -> None:
        self._server.serve_forever()
