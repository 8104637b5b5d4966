"""Stream records as read from a shard, and the event Lambda builds from a batch of them.

The event follows the shape Lambda delivers to a Kinesis-triggered function
(``Records[].kinesis{...}``, ``eventID = <shardId>:<sequenceNumber>`` ...), so handlers and
Powertools' ``KinesisStreamRecord`` see exactly what they would see in AWS.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

KINESIS_SCHEMA_VERSION = "1.0"
EVENT_VERSION = "1.0"


@dataclass(frozen=True, slots=True)
class StreamRecord:
    """One Kinesis record; ``arrival`` is epoch seconds (ms precision), ``seen`` monotonic."""

    shard_id: str
    sequence_number: str
    partition_key: str
    data: bytes
    arrival: float
    seen: float = 0.0

    @classmethod
    def from_kinesis(cls, shard_id: str, record: dict[str, Any], seen: float) -> StreamRecord:
        """From a boto3 ``GetRecords`` entry (arrival is a datetime there)."""
        arrival = record["ApproximateArrivalTimestamp"]
        epoch = arrival.timestamp() if isinstance(arrival, datetime) else float(arrival)
        return cls(
            shard_id=shard_id,
            sequence_number=str(record["SequenceNumber"]),
            partition_key=str(record["PartitionKey"]),
            data=bytes(record["Data"]),
            arrival=round(epoch, 3),
            seen=seen,
        )

    @property
    def payload_size(self) -> int:
        """Bytes this record adds to an invocation payload (base64 data + envelope)."""
        return (len(self.data) + 2) // 3 * 4 + len(self.partition_key) + 400


def build_event(
    records: Sequence[StreamRecord], *, stream_arn: str, region: str, role_arn: str
) -> dict[str, Any]:
    """The event Lambda passes to the function for one batch of one shard."""
    return {
        "Records": [
            {
                "kinesis": {
                    "kinesisSchemaVersion": KINESIS_SCHEMA_VERSION,
                    "partitionKey": record.partition_key,
                    "sequenceNumber": record.sequence_number,
                    "data": base64.b64encode(record.data).decode("ascii"),
                    "approximateArrivalTimestamp": record.arrival,
                },
                "eventSource": "aws:kinesis",
                "eventVersion": EVENT_VERSION,
                "eventID": f"{record.shard_id}:{record.sequence_number}",
                "eventName": "aws:kinesis:record",
                "invokeIdentityArn": role_arn,
                "awsRegion": region,
                "eventSourceARN": stream_arn,
            }
            for record in records
        ]
    }
