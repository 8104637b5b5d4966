"""Wire handling: route an HTTP request to an operation and shape answers as botocore parses.

Control plane: JSON 1.1, ``POST /`` with ``X-Amz-Target: SageMaker.<Op>``; errors carry
``__type`` in the body. Runtime: rest-json routes under ``/FeatureGroup/{name}`` (plus
``/Record`` and ``/ListRecords`` for UpdateRecord and ListRecords), ``/BatchGetRecord`` and
``/BatchWriteRecord``; errors carry ``x-amzn-ErrorType``.
Every failure becomes a service-style error, never a traceback.
"""

from __future__ import annotations

import itertools
import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote

from devstack.standins.featurestore.config import EmulatorConfig, FaultConfig
from devstack.standins.featurestore.controlplane import ControlPlane, RequestContext
from devstack.standins.featurestore.errors import ApiError
from devstack.standins.featurestore.partial_update import update_record
from devstack.standins.featurestore.record_listing import list_records
from devstack.standins.featurestore.runtime import Runtime

log = logging.getLogger("devstack.standins.featurestore")

# The signing region names the offline store's key (".../sagemaker/<region>/..."): only a
# region-shaped name is taken from the header.
_CREDENTIAL_RE = re.compile(r"Credential=[^/]+/\d{8}/([a-z]{2}(?:-[a-z0-9]+){1,4})/")
_JSON11 = "application/x-amz-json-1.1"
_JSON = "application/json"
_ids = itertools.count(1)
MAX_JSON_DEPTH = 32
"""Deepest nesting of objects and arrays a request body may have. The deepest valid input
(a Search with SubExpressions inside SubExpressions, whose elements the service caps at 20
per expression) stays far below; deeper bodies are refused before any recursion sees them."""


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not valid JSON")


_DECODER = json.JSONDecoder(parse_constant=_reject_constant)  # strict JSON: no NaN/Infinity


def _deeper_than(value: Any, limit: int) -> bool:
    """True when containers nest more than ``limit`` levels (iterative: no recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if not isinstance(node, dict | list):
            continue
        if depth > limit:
            return True
        children = node.values() if isinstance(node, dict) else node
        stack.extend((c, depth + 1) for c in children)
    return False


def _has_lone_surrogate(value: Any) -> bool:
    """A string with an unpaired ``\\udXXX`` escape cannot be stored or sent as UTF-8."""
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            try:
                node.encode()
            except UnicodeEncodeError:
                return True
        elif isinstance(node, dict):
            stack.extend(node.keys())
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return False


def parse_json_object(raw: bytes) -> dict[str, Any]:
    """A request body as a JSON object, or ``SerializationException`` saying what is wrong.

    Strict JSON in UTF-8, an object at the top, at most ``MAX_JSON_DEPTH`` levels, no
    unpaired surrogate escapes. The checks that walk the document run only when the raw
    bytes make them possible, so a plain PutRecord pays two ``bytes.count`` calls.
    """
    if not raw:
        return {}
    try:
        body = _DECODER.decode(raw.decode("utf-8"))
    except RecursionError:
        body = None
        deep = True
    except ValueError:  # also UnicodeDecodeError
        raise ApiError("SerializationException", "Request body is not valid JSON") from None
    else:
        deep = (raw.count(b"[") + raw.count(b"{") > MAX_JSON_DEPTH) and _deeper_than(
            body, MAX_JSON_DEPTH
        )
    if deep:
        raise ApiError(
            "SerializationException",
            f"Request body nests objects and arrays deeper than {MAX_JSON_DEPTH} levels",
        )
    if not isinstance(body, dict):
        raise ApiError("SerializationException", "Request body must be a JSON object")
    if (b"\\ud" in raw or b"\\uD" in raw) and _has_lone_surrogate(body):
        raise ApiError(
            "SerializationException", "Request body holds an unpaired UTF-16 surrogate escape"
        )
    return body


class Headers(Protocol):
    """What handlers need from request headers (http.server's Message or a dict)."""

    def get(self, name: str, default: None = None, /) -> str | None: ...


@dataclass
class Request:
    method: str
    path: str
    query: str
    headers: Headers
    body: bytes


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    operation: str = "-"


Handler = Callable[[Request], Response]


def _json(status: int, payload: Any, content_type: str, operation: str) -> Response:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return Response(status, body, {"Content-Type": content_type}, operation)


class Router:
    """Turns requests into operation calls; holds the fault switch."""

    def __init__(
        self,
        config: EmulatorConfig,
        control: ControlPlane,
        runtime: Runtime,
        admin: Callable[[str, Request], Any] | None = None,
    ) -> None:
        self.config = config
        self.control = control
        self.runtime = runtime
        self.admin = admin
        self._runtime_ops: dict[str, Callable[[Request], Response]] = {
            "PutRecord": self._put_record,
            "GetRecord": self._get_record,
            "DeleteRecord": self._delete_record,
            "BatchGetRecord": self._batch_get_record,
            "BatchWriteRecord": self._batch_write_record,
            "UpdateRecord": self._update_record,
            "ListRecords": self._list_records,
        }

    @property
    def faults(self) -> FaultConfig:
        return self.config.faults

    @property
    def operation_names(self) -> frozenset[str]:
        """Every operation this router serves (what fault settings may name)."""
        return frozenset(self._runtime_ops) | frozenset(self.control.operations)

    def _region(self, headers: Headers) -> str:
        if self.config.region:
            return self.config.region
        match = _CREDENTIAL_RE.search(headers.get("Authorization") or "")
        return match.group(1) if match else "us-east-1"

    def _inject_faults(self, operation: str, control_plane: bool) -> None:
        faults = self.config.faults
        if not faults.active or not faults.applies_to(operation, control_plane):
            return
        if faults.latency_ms > 0:
            time.sleep(faults.latency_ms / 1000)
        draw = faults.draw()
        if draw < faults.throttle_rate:
            faults.count("throttle")
            raise ApiError("ThrottlingException", "Rate exceeded", 400)
        if draw < faults.throttle_rate + faults.error_rate:
            faults.count("error")
            raise ApiError(faults.error_code, "Injected fault", faults.error_status)

    def __call__(self, request: Request) -> Response:
        target = request.headers.get("X-Amz-Target")
        if target is not None:
            return self._control_plane(request, target)
        return self._runtime(request)

    # -- control plane -----------------------------------------------------------------------

    def _control_plane(self, request: Request, target: str) -> Response:
        operation = target.partition(".")[2]
        try:
            handler = self.control.operations.get(operation)
            if not target.startswith("SageMaker.") or handler is None:
                raise ApiError(
                    "UnknownOperationException",
                    "The X-Amz-Target names no SageMaker operation the local Feature Store "
                    "emulator supports (docs/emulator.md lists them)",
                )
            body = self._body(request)
            self._inject_faults(operation, control_plane=True)
            ctx = RequestContext(self._region(request.headers), self.config.account_id)
            return _json(200, handler(body, ctx), _JSON11, operation)
        except ApiError as exc:
            code = "ValidationException" if exc.code == "ValidationError" else exc.code
            payload = {"__type": code, "message": exc.message}
            return _json(exc.status, payload, _JSON11, operation)
        except _SHAPE_ERRORS as exc:
            log.debug("malformed %s request", operation, exc_info=True)
            payload = {"__type": "ValidationException", "message": _shape_message(exc)}
            return _json(400, payload, _JSON11, operation)
        except Exception:
            log.exception("internal error in %s", operation)
            payload = {"__type": "InternalFailure", "message": "An internal error occurred"}
            return _json(500, payload, _JSON11, operation)

    # -- runtime -----------------------------------------------------------------------------

    def _runtime(self, request: Request) -> Response:
        operation = _runtime_operation(request.method, request.path)
        try:
            if operation == "Admin" and self.admin is not None:
                path = request.path[len("/_emulator/") :]
                return _json(200, self.admin(path, request), _JSON, operation)
            handler = self._runtime_ops.get(operation)
            if handler is None:
                raise ApiError(
                    "UnknownOperationException",
                    f"No {request.method} route for this path in the local Feature Store "
                    "emulator (docs/emulator.md lists them)",
                    404,
                )
            self._inject_faults(operation, control_plane=False)
            return handler(request)
        except ApiError as exc:
            return Response(
                exc.status,
                json.dumps({"message": exc.message}).encode(),
                {"Content-Type": _JSON, "x-amzn-ErrorType": exc.code},
                operation,
            )
        except _SHAPE_ERRORS as exc:
            log.debug("malformed %s request", operation, exc_info=True)
            return Response(
                400,
                json.dumps({"message": _shape_message(exc)}).encode(),
                {"Content-Type": _JSON, "x-amzn-ErrorType": "ValidationError"},
                operation,
            )
        except Exception:
            log.exception("internal error in %s", operation)
            return Response(
                500,
                b'{"message":"An internal error occurred"}',
                {"Content-Type": _JSON, "x-amzn-ErrorType": "InternalFailure"},
                operation,
            )

    def _put_record(self, request: Request) -> Response:
        self.runtime.put_record(_group_name(request.path), self._body(request))
        return Response(200, b"", {}, "PutRecord")

    def _get_record(self, request: Request) -> Response:
        query = parse_qs(request.query, keep_blank_values=True)
        text = self.runtime.get_record(
            _group_name(request.path),
            _one(query, "RecordIdentifierValueAsString"),
            query.get("FeatureName"),
            _one(query, "ExpirationTimeResponse"),
        )
        return Response(200, text.encode(), {"Content-Type": _JSON}, "GetRecord")

    def _delete_record(self, request: Request) -> Response:
        query = parse_qs(request.query, keep_blank_values=True)
        self.runtime.delete_record(
            _group_name(request.path),
            _one(query, "RecordIdentifierValueAsString"),
            _one(query, "EventTime"),
            query.get("TargetStores"),
            _one(query, "DeletionMode"),
        )
        return Response(200, b"", {}, "DeleteRecord")

    def _batch_get_record(self, request: Request) -> Response:
        result = self.runtime.batch_get_record(self._body(request))
        return _json(200, result, _JSON, "BatchGetRecord")

    def _batch_write_record(self, request: Request) -> Response:
        result = self.runtime.batch_write_record(self._body(request))
        return _json(200, result, _JSON, "BatchWriteRecord")

    def _update_record(self, request: Request) -> Response:
        update_record(self.runtime, _group_name(request.path), self._body(request))
        return Response(200, b"", {}, "UpdateRecord")

    def _list_records(self, request: Request) -> Response:
        result = list_records(self.runtime, _group_name(request.path), self._body(request))
        return _json(200, result, _JSON, "ListRecords")

    @staticmethod
    def _body(request: Request) -> dict[str, Any]:
        return parse_json_object(request.body)


_FG_ROUTES = {"PUT": "PutRecord", "GET": "GetRecord", "DELETE": "DeleteRecord"}
_POST_ROUTES = {"/BatchGetRecord": "BatchGetRecord", "/BatchWriteRecord": "BatchWriteRecord"}


# POST /FeatureGroup/{name}/<suffix>: the newer runtime operations.
_FG_POST_SUFFIXES = {"Record": "UpdateRecord", "ListRecords": "ListRecords"}


def _runtime_operation(method: str, path: str) -> str:
    """The operation a rest-json route names, or "-" when nothing matches."""
    if path.startswith("/FeatureGroup/"):
        rest = path[len("/FeatureGroup/") :]
        if "/" not in rest:
            return _FG_ROUTES.get(method, "-")
        _, _, suffix = rest.partition("/")
        if method == "POST" and suffix in _FG_POST_SUFFIXES:
            return _FG_POST_SUFFIXES[suffix]
        return "-"
    if method == "POST" and path in _POST_ROUTES:
        return _POST_ROUTES[path]
    if path.startswith("/_emulator/"):
        return "Admin"
    return "-"


def _group_name(path: str) -> str:
    """The (still quoted) label after /FeatureGroup/, without an operation suffix."""
    return unquote(path[len("/FeatureGroup/") :].partition("/")[0])


# botocore always sends well-shaped input; these come from hand-made requests whose
# members have the wrong JSON types or impossible values that a check missed, which the
# service answers with a validation error. Explicit checks name the member; this net keeps
# any the checks miss a 400.
_SHAPE_ERRORS = (AttributeError, TypeError, KeyError, IndexError, ValueError, ArithmeticError)


def _shape_message(exc: Exception) -> str:
    return f"The request does not match the operation's input shape ({type(exc).__name__})"


def _one(query: dict[str, list[str]], key: str) -> str | None:
    values = query.get(key)
    return values[0] if values else None


def next_request_id() -> str:
    return f"00000000-0000-4000-8000-{next(_ids):012d}"
