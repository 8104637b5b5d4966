"""API Gateway HTTP API (payload format 2.0) in and out: routes, input checks, responses.

Routes: ``GET /customers/{customer_id}/features`` and ``POST /predictions`` with
``{"customer_ids": [...]}`` (1 to 100 ids). Anything else is a 4xx with a message: another
route, an event that is not an HTTP API event, a body over 64 KiB (413), a body that is not
JSON or is nested too deeply, too many ids, an id that is not a customer id. Messages name
the field at fault, never the value sent: an id field may hold a name typed by mistake.
Query parameters and headers are not read. Every response is JSON and carries the request
id (API Gateway's, or the Lambda's when invoked directly).
"""

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from featurestream.contract.identifiers import CUSTOMER_ID_PATTERN
from featurestream.serving.errors import ApiError, bad_request

MAX_CUSTOMER_IDS: Final = 100
MAX_BODY_BYTES: Final = 64 * 1024
"""100 ids take about 2 KB; a body near API Gateway's 10 MB is a mistake or an attack."""
FEATURES_ROUTE: Final = "GET /customers/{customer_id}/features"
PREDICTIONS_ROUTE: Final = "POST /predictions"
_FEATURES_PATH: Final = re.compile(r"^/customers/([^/]+)/features/?$")
_CUSTOMER_ID: Final = re.compile(CUSTOMER_ID_PATTERN)
_ID_FORMAT: Final = "C followed by 1 to 18 digits, the first not 0"
_METHODS: Final = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_MAX_BASE64_CHARS: Final = (MAX_BODY_BYTES + 2) // 3 * 4
_MAX_REQUEST_ID_CHARS: Final = 128


@dataclass(frozen=True)
class FeaturesRequest:
    customer_id: str


@dataclass(frozen=True)
class PredictionsRequest:
    customer_ids: tuple[str, ...]


ApiRequest = FeaturesRequest | PredictionsRequest


def _object(container: Mapping[str, Any], name: str, where: str) -> Mapping[str, Any]:
    """``container[name]`` if it is a JSON object, empty if absent; anything else is a 400."""
    value = container.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise bad_request(f"{where} must be an object (API Gateway HTTP API payload 2.0)")
    return value


def request_id(event: Any, context: Any) -> str:
    """API Gateway's request id, else the Lambda's; never fails, whatever the event."""
    request_context = event.get("requestContext") if isinstance(event, dict) else None
    rid = request_context.get("requestId") if isinstance(request_context, dict) else None
    if isinstance(rid, str) and 0 < len(rid) <= _MAX_REQUEST_ID_CHARS:
        return rid
    return str(getattr(context, "aws_request_id", "") or "unknown")


def request_time(event: Mapping[str, Any]) -> datetime | None:
    """When API Gateway received the request (``requestContext.timeEpoch``, ms); None when
    the event has none (a direct invocation)."""
    epoch = _object(event, "requestContext", "requestContext").get("timeEpoch")
    if epoch is None:
        return None
    if isinstance(epoch, int | float) and not isinstance(epoch, bool):
        try:
            return datetime.fromtimestamp(epoch / 1000, tz=UTC)
        except (OverflowError, OSError, ValueError):
            pass
    raise bad_request("requestContext.timeEpoch must be a time in milliseconds since 1970")


def _customer_id(value: Any, field: str) -> str:
    if not isinstance(value, str):
        raise bad_request(f"{field} must be a string: a customer id, {_ID_FORMAT}")
    if not _CUSTOMER_ID.fullmatch(value):
        raise bad_request(f"{field} is not a customer id ({_ID_FORMAT})")
    return value


def _too_large() -> ApiError:
    return ApiError(413, "PayloadTooLarge", f"request body is over {MAX_BODY_BYTES} bytes")


def _body(event: Mapping[str, Any]) -> Any:
    """The JSON body, bounded in size before it is decoded or parsed."""
    raw = event.get("body")
    if raw is None or raw == "":
        raise bad_request('request body is required: {"customer_ids": [...]}')
    if not isinstance(raw, str):
        raise bad_request("body must be a string (API Gateway HTTP API payload 2.0)")
    if event.get("isBase64Encoded"):
        if len(raw) > _MAX_BASE64_CHARS:
            raise _too_large()
        try:
            data = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            raise bad_request("request body is not valid base64") from None
    else:
        if len(raw) > MAX_BODY_BYTES:  # every character is at least one byte
            raise _too_large()
        try:
            data = raw.encode()
        except UnicodeEncodeError:
            raise bad_request("request body is not valid UTF-8") from None
    if len(data) > MAX_BODY_BYTES:
        raise _too_large()
    try:
        return json.loads(data)
    except RecursionError:
        raise bad_request("request body is nested too deeply") from None
    except ValueError:  # also UnicodeDecodeError, and integers too long to convert
        raise bad_request("request body is not valid JSON") from None


def parse_request(event: Any) -> ApiRequest:
    """The route and its validated input, or a 4xx :class:`ApiError`."""
    if not isinstance(event, dict):
        raise bad_request("the event is not an API Gateway HTTP API (payload 2.0) event")
    http = _object(
        _object(event, "requestContext", "requestContext"), "http", "requestContext.http"
    )
    method = http.get("method")
    method = method.upper() if isinstance(method, str) else ""
    path = event.get("rawPath") or http.get("path")
    path = path if isinstance(path, str) else ""
    match = _FEATURES_PATH.match(path)
    if method == "GET" and match:
        params = _object(event, "pathParameters", "pathParameters")
        return FeaturesRequest(
            _customer_id(params.get("customer_id", match.group(1)), "customer_id in the path")
        )
    if method == "POST" and path.rstrip("/") == "/predictions":
        body = _body(event)
        ids = body.get("customer_ids") if isinstance(body, dict) else None
        if not isinstance(ids, list) or not ids:
            raise bad_request("customer_ids must be a non-empty list")
        if len(ids) > MAX_CUSTOMER_IDS:
            raise bad_request(
                f"at most {MAX_CUSTOMER_IDS} customer_ids per request, got {len(ids)}"
            )
        unique = dict.fromkeys(
            _customer_id(value, f"customer_ids[{index}]") for index, value in enumerate(ids)
        )
        return PredictionsRequest(tuple(unique))
    shown = method if method in _METHODS else "this method"
    raise bad_request(
        f"unknown route: {shown} on this path; routes: {FEATURES_ROUTE}, {PREDICTIONS_ROUTE}"
    )


def response(status: int, body: dict[str, Any], rid: str) -> dict[str, Any]:
    """An HTTP API (2.0) Lambda response."""
    headers = {"Content-Type": "application/json", "X-Request-Id": rid}
    if status == 503:
        headers["Retry-After"] = "1"
    return {
        "statusCode": status,
        "headers": headers,
        "body": json.dumps({**body, "request_id": rid}, separators=(",", ":")),
        "isBase64Encoded": False,
    }


def error_response(error: ApiError, rid: str) -> dict[str, Any]:
    details = {k: v for k, v in error.details.items() if v is not None}
    return response(error.status, {"code": error.code, "message": error.message, **details}, rid)
