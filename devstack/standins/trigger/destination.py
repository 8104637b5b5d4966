"""The on-failure destination: what Lambda sends to SQS when it gives up on a batch.

The message carries positions, not records (as in AWS): whoever replays them re-reads the
stream from ``startSequenceNumber`` before retention expires.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Final, Literal

from devstack.standins.trigger.records import StreamRecord

Condition = Literal["RetryAttemptsExhausted", "RecordAgeExceeded"]

RETRY_ATTEMPTS_EXHAUSTED: Final = "RetryAttemptsExhausted"
RECORD_AGE_EXCEEDED: Final = "RecordAgeExceeded"

log = logging.getLogger(__name__)


def _iso(epoch: float) -> str:
    moment = datetime.fromtimestamp(epoch, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def failure_message(
    records: Sequence[StreamRecord],
    *,
    stream_arn: str,
    function_arn: str,
    condition: Condition,
    invoke_count: int,
    function_error: str | None,
    now: float | None = None,
) -> dict[str, Any]:
    """The invocation record Lambda sends for a discarded Kinesis batch.

    ``functionError`` is present only when the last invocation was a function error (an
    exception, crash or timeout): a batch given up after partial failures ran without one.
    """
    response: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
    if function_error is not None:
        response["functionError"] = function_error
    moment = datetime.now(UTC).timestamp() if now is None else now
    return {
        "requestContext": {
            "requestId": str(uuid.uuid4()),
            "functionArn": function_arn,
            "condition": condition,
            "approximateInvokeCount": invoke_count,
        },
        "responseContext": response,
        "version": "1.0",
        "timestamp": _iso(moment),
        "KinesisBatchInfo": {
            "shardId": records[0].shard_id,
            "startSequenceNumber": records[0].sequence_number,
            "endSequenceNumber": records[-1].sequence_number,
            "approximateArrivalOfFirstRecord": _iso(records[0].arrival),
            "approximateArrivalOfLastRecord": _iso(records[-1].arrival),
            "batchSize": len(records),
            "streamArn": stream_arn,
        },
    }


class SqsDestination:
    """Sends failure messages to an SQS queue given by ARN (URL looked up once, lazily)."""

    def __init__(self, sqs: Any, queue_arn: str) -> None:
        self.sqs = sqs
        self.queue_arn = queue_arn
        self._url: str | None = None

    def _queue_url(self) -> str:
        if self._url is None:
            _, _, _, _, account, name = self.queue_arn.split(":", 5)
            self._url = str(
                self.sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
            )
        return self._url

    def send(self, message: dict[str, Any]) -> bool:
        """True when sent; a failure is logged (positions only, no record data) not raised."""
        try:
            self.sqs.send_message(QueueUrl=self._queue_url(), MessageBody=json.dumps(message))
        except Exception as error:  # the shard must move on regardless
            info = message["KinesisBatchInfo"]
            log.error(
                "on-failure destination %s unavailable (%s); lost positions %s %s..%s",
                self.queue_arn,
                type(error).__name__,
                info["shardId"],
                info["startSequenceNumber"],
                info["endSequenceNumber"],
            )
            return False
        return True
