"""API Gateway HTTP API (payload format 2.0) in and out: routes, input checks, responses.

Routes: ``GET /customers/{customer_id}/features`` and ``POST /predictions`` with
``{"customer_ids": [...]}`` (1 to 100 ids). Anything else — another route, malformed JSON, too
many ids, an id that is not a customer id — is a 400 with a message. Every response is JSON
and carries the request id (API Gateway's, or the Lambda's when invoked directly).
"""

import base64
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from featurestream.api_errors import ApiError, bad_request
from featurestream.identifiers import CUSTOMER_ID_PATTERN

MAX_CUSTOMER_IDS: Final = 100
FEATURES_ROUTE: Final = "GET /customers/{customer_id}/features"
PREDICTIONS_ROUTE: Final = "POST /predictions"
_FEATURES_PATH: Final = re.compile(r"^/customers/([^/]+)/features/?$")
_CUSTOMER_ID: Final = re.compile(CUSTOMER_ID_PATTERN)


@dataclass(frozen=True)
class FeaturesRequest:
    customer_id: str


@dataclass(frozen=True)
class PredictionsRequest:
    customer_ids: tuple[str, ...]


ApiRequest = FeaturesRequest | PredictionsRequest


def request_id(event: dict[str, Any], context: Any) -> str:
    rid = (event.get("requestContext") or {}).get("requestId")
    return str(rid or getattr(context, "aws_request_id", "") or "unknown")


def request_time(event: dict[str, Any]) -> datetime | None:
    """When API Gateway received the request (``requestContext.timeEpoch``, ms)."""
    epoch = (event.get("requestContext") or {}).get("timeEpoch")
    if isinstance(epoch, int | float) and not isinstance(epoch, bool):
        return datetime.fromtimestamp(epoch / 1000, tz=UTC)
    return None


def _customer_id(value: Any) -> str:
    if not isinstance(value, str) or not _CUSTOMER_ID.match(value):
        shown = value if isinstance(value, str) and len(value) <= 40 else type(value).__name__
        raise bad_request(f"not a customer id: {shown!r} (expected C followed by digits)")
    return value


def _body(event: dict[str, Any]) -> Any:
    raw = event.get("body")
    if raw is None or raw == "":
        raise bad_request('request body is required: {"customer_ids": [...]}')
    try:
        text = base64.b64decode(raw).decode() if event.get("isBase64Encoded") else raw
        return json.loads(text)
    except (ValueError, TypeError, RecursionError):  # RecursionError: nested too deep
        raise bad_request("request body is not valid JSON") from None


def parse_request(event: dict[str, Any]) -> ApiRequest:
    """The route and its validated input, or a 400 :class:`ApiError`."""
    http = (event.get("requestContext") or {}).get("http") or {}
    method = str(http.get("method") or "").upper()
    path = str(event.get("rawPath") or http.get("path") or "")
    match = _FEATURES_PATH.match(path)
    if method == "GET" and match:
        params = event.get("pathParameters") or {}
        return FeaturesRequest(_customer_id(params.get("customer_id", match.group(1))))
    if method == "POST" and path.rstrip("/") == "/predictions":
        body = _body(event)
        ids = body.get("customer_ids") if isinstance(body, dict) else None
        if not isinstance(ids, list) or not ids:
            raise bad_request("customer_ids must be a non-empty list")
        if len(ids) > MAX_CUSTOMER_IDS:
            raise bad_request(
                f"at most {MAX_CUSTOMER_IDS} customer_ids per request, got {len(ids)}"
            )
        unique = dict.fromkeys(_customer_id(value) for value in ids)
        return PredictionsRequest(tuple(unique))
    raise bad_request(
        f"unknown route {method or '?'} {path or '?'}; "
        f"routes: {FEATURES_ROUTE}, {PREDICTIONS_ROUTE}"
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
