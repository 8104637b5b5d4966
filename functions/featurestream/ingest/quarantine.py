"""The quarantine queue: invalid events, kept with everything needed to look at them again.

An event that can never be processed (not JSON, wrong schema, impossible values, wrong event
type for its stream, another customer's partition key, a time outside the accepted window)
is sent here and then counts as done, so a poison pill never blocks its shard. The message
holds the exact payload (base64), the reason, and where the record was in the stream. The
payload is kept only because repairing and republishing the event needs it: it may hold
personal data, so the queue is KMS-encrypted and keeps messages a bounded time
(docs/security.md), and the reason names fields, never values. A failed send is transient:
the record is reported failed and redelivered.
Delivery is at least once: when another record of the batch fails, Lambda redelivers from
that record on, and an invalid record after it is quarantined again; ``(stream_arn,
shard_id, sequence_number)`` identifies it, and ``payload_sha256`` its content.
"""

import base64
import hashlib
import json
from dataclasses import dataclass
from typing import Any, Final, Protocol, cast

from botocore.exceptions import BotoCoreError, ClientError

from featurestream.aws.clients import client_config, create_client

MAX_PAYLOAD_BYTES: Final = 128 * 1024
"""Payloads above this are truncated (base64 inflates 4/3; SQS takes 256 KiB per message).
The message then still names stream, shard and sequence number to re-read the full record."""


class QuarantineUnavailable(Exception):
    """The quarantine queue could not take the message: retry the record later."""


@dataclass(frozen=True)
class QuarantinedRecord:
    """One invalid record and where it came from."""

    reason: str
    payload: bytes
    stream_arn: str
    shard_id: str
    sequence_number: str
    partition_key: str
    approximate_arrival_timestamp: float | None
    function_name: str | None = None

    def to_message(self) -> dict[str, Any]:
        """The message body as a JSON-ready dict (stable keys; see docs/operations.md)."""
        truncated = len(self.payload) > MAX_PAYLOAD_BYTES
        kept = self.payload[:MAX_PAYLOAD_BYTES]
        return {
            "reason": self.reason,
            "stream_arn": self.stream_arn,
            "shard_id": self.shard_id,
            "sequence_number": self.sequence_number,
            "partition_key": self.partition_key,
            "approximate_arrival_timestamp": self.approximate_arrival_timestamp,
            "function_name": self.function_name,
            "payload_base64": base64.b64encode(kept).decode("ascii"),
            "payload_bytes": len(self.payload),
            "payload_sha256": hashlib.sha256(self.payload).hexdigest(),
            "payload_truncated": truncated,
        }


class _SendMessageClient(Protocol):
    def send_message(self, **kwargs: Any) -> Any: ...


def make_sqs_client(*, pool_size: int, max_attempts: int) -> _SendMessageClient:
    """An SQS client shared by the worker threads (endpoint from the standard env vars;
    botocore's own, as boto3 would add only import time)."""
    config = client_config(
        max_attempts=max_attempts, pool_size=pool_size, validate=True, keepalive=False
    )
    client = create_client("sqs", config)
    return cast(_SendMessageClient, client)


class Quarantine:
    """Sends invalid records to the quarantine queue."""

    def __init__(self, client: _SendMessageClient, queue_url: str) -> None:
        self._client = client
        self.queue_url = queue_url

    def send(self, record: QuarantinedRecord) -> None:
        """Send one record; raise :class:`QuarantineUnavailable` if SQS does not take it."""
        body = json.dumps(record.to_message(), separators=(",", ":"))
        try:
            self._client.send_message(
                QueueUrl=self.queue_url,
                MessageBody=body,
                MessageAttributes={
                    "reason": {"DataType": "String", "StringValue": record.reason[:1024]},
                    "shard_id": {"DataType": "String", "StringValue": record.shard_id or "-"},
                },
            )
        except (ClientError, BotoCoreError) as error:
            code = (
                error.response.get("Error", {}).get("Code", "Unknown")
                if isinstance(error, ClientError)
                else type(error).__name__
            )
            raise QuarantineUnavailable(f"quarantine send failed: {code}") from error
