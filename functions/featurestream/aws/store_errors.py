"""The Feature Store client, retries and error outcomes (the stream Lambdas write through
:mod:`featurestream.ingest.store_writer`).

botocore retries transient errors (throttling, 5xx, timeouts, connection errors) with the
configured mode; what is still failing afterwards is classified here so the pipeline can
decide what a record's outcome is. The same rules apply to each failed BatchWriteRecord
entry (:func:`classify_code`). No PutRecord failure is ever the event's fault (the event
was validated before), so none of them leads to quarantine:

* ``TransientStoreError``: throttling, 5xx, timeouts, and the "Resource Not Found"
  ValidationError PutRecord is known to return sporadically for an existing group
  (docs/operations.md). Reported as a batch item failure; Lambda redelivers.
* ``StoreRejected``: any other 4xx (ValidationError on a valid event, AccessForbidden).
  That is a bug or a configuration error (catalog out of step with the deployed group,
  missing IAM permission). It is also reported as a batch item failure — the shard stalls
  and alarms fire instead of good events being diverted — and after MaximumRetryAttempts
  the batch goes to the on-failure queue with its sequence range for a replay once fixed.
"""

from typing import Any, Final, Protocol, cast

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from featurestream.aws.clients import create_client, serialize_with_json_dumps
from featurestream.aws.throttling import THROTTLING_CODES

_TRANSIENT_CODES: Final = THROTTLING_CODES | frozenset(
    {
        "ServiceUnavailable",
        "InternalFailure",
        "InternalServerError",
        "RequestTimeout",
        "RequestTimeoutException",
    }
)
_VALIDATION_CODES: Final = frozenset({"ValidationError", "ValidationException"})
_RESOURCE_NOT_FOUND: Final = "resource not found"


class StoreError(Exception):
    """PutRecord failed after botocore's retries; ``code`` is the service's error code."""

    transient: bool = True

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class TransientStoreError(StoreError):
    """Will likely succeed when Lambda redelivers the record."""


class StoreRejected(StoreError):
    """The service refused a valid event: a bug or a configuration error (see module doc)."""

    transient = False


class _PutRecordClient(Protocol):
    def put_record(self, **kwargs: Any) -> Any: ...


class _RuntimeClient(_PutRecordClient, Protocol):
    def batch_write_record(self, **kwargs: Any) -> Any: ...


def make_runtime_client(config: Config) -> _RuntimeClient:
    """A ``sagemaker-featurestore-runtime`` client (endpoint from the standard env vars),
    whose BatchWriteRecord bodies are one ``json.dumps`` (the largest per-record CPU cost
    of the stream handlers after the coalescing of calls was botocore's walk building them;
    see :func:`featurestream.aws.clients.serialize_with_json_dumps`). botocore's own client:
    boto3 would add nothing to it but cold-start import time (s3transfer)."""
    client = create_client("sagemaker-featurestore-runtime", config)
    serialize_with_json_dumps(client, "BatchWriteRecord")
    return cast(_RuntimeClient, client)


def classify(error: Exception) -> StoreError:
    """Map what PutRecord raised (after retries) to a transient or a rejected outcome."""
    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        code = str(details.get("Code", "Unknown"))
        message = str(details.get("Message", ""))
        status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        return classify_code(code, message, status)
    if isinstance(error, BotoCoreError):  # timeouts, connection errors
        return TransientStoreError(type(error).__name__, str(error))
    raise error


def classify_code(code: str, message: str, status: int = 0) -> StoreError:
    """The rule for one error code: also used for each entry in BatchWriteRecord's ``Errors``
    (which carry no HTTP status)."""
    if code in _TRANSIENT_CODES or status >= 500 or status == 429:
        return TransientStoreError(code, message)
    if code in _VALIDATION_CODES and _RESOURCE_NOT_FOUND in message.lower():
        return TransientStoreError(code, message)
    return StoreRejected(code, message)
