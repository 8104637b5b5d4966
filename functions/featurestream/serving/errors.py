"""Errors the inference API answers with: an HTTP status, a stable code and a message.

4xx are the caller's mistakes (bad route, bad JSON, bad ids, unknown customer); 502 means a
dependency answered but wrongly (a model error, a misconfigured group or endpoint); 503 means
a dependency is busy or slow (throttling, 5xx, timeouts) and the call may be retried.
Messages never carry feature values or personal data.
"""

from typing import Any, Final

from featurestream.aws.throttling import THROTTLING_CODES


class ApiError(Exception):
    """An error response; ``details`` are extra JSON fields (e.g. a dependency's request id)."""

    def __init__(self, status: int, code: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details

    @property
    def retryable(self) -> bool:
        return self.status == 503


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def not_found(message: str, **details: Any) -> ApiError:
    return ApiError(404, "NotFound", message, **details)


_BUSY_CODES: Final = THROTTLING_CODES | {"ModelNotReadyException"}
"""Answered 503: the dependency is busy; a retry may succeed."""


def dependency_error(dependency: str, error: Exception) -> ApiError:
    """Map what a boto3 call raised (after botocore's retries) to a 502 or 503.

    ``dependency`` names the service in the code (``FeatureStore``, ``ModelEndpoint``).
    """
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        ConnectionError,
        ConnectTimeoutError,
        ReadTimeoutError,
    )

    if isinstance(error, ReadTimeoutError | ConnectTimeoutError):
        return ApiError(503, f"{dependency}Timeout", f"{dependency} did not answer in time")
    if isinstance(error, ConnectionError):
        return ApiError(503, f"{dependency}Unreachable", f"cannot connect to {dependency}")
    if isinstance(error, ClientError):
        response: Any = error.response
        code = str(response.get("Error", {}).get("Code", "Unknown"))
        message = str(response.get("Error", {}).get("Message", ""))[:500]
        meta = response.get("ResponseMetadata", {})
        status = int(meta.get("HTTPStatusCode", 0) or 0)
        details = {"dependency_code": code, "dependency_request_id": meta.get("RequestId")}
        if code in _BUSY_CODES or status == 429:
            return ApiError(503, f"{dependency}Throttled", f"{dependency} is throttling", **details)
        if status >= 500:
            return ApiError(503, f"{dependency}Unavailable", f"{dependency}: {message}", **details)
        return ApiError(502, f"{dependency}Error", f"{dependency} refused: {message}", **details)
    if isinstance(error, BotoCoreError):
        return ApiError(502, f"{dependency}Error", f"{dependency}: {type(error).__name__}")
    raise error
