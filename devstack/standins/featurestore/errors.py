"""API errors as the service sends them: a code, an HTTP status and a message.

Handlers raise these; the protocol layer turns them into the exact wire shape botocore
parses for each protocol, so callers never see a Python traceback.
"""

from __future__ import annotations


class ApiError(Exception):
    """An error answer: ``code`` becomes ``x-amzn-ErrorType`` / ``__type``."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message[:2048]
        self.status = status


def validation(message: str) -> ApiError:
    """Runtime-plane bad input (modeled as ``ValidationError``)."""
    return ApiError("ValidationError", message, 400)


def cp_validation(message: str) -> ApiError:
    """Control-plane bad input: SageMaker answers the unmodeled ``ValidationException``."""
    return ApiError("ValidationException", message, 400)


def not_found(message: str, status: int = 404) -> ApiError:
    return ApiError("ResourceNotFound", message, status)


def fg_not_found_message(name: str) -> str:
    return f"Resource Not Found: Amazon SageMaker can't find a FeatureGroup with name {name}"
