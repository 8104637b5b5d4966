"""Stream records as read from a shard, and the event Lambda builds from a batch of them.

The event follows the shape Lambda delivers to a Kinesis-triggered function
(``Records[].kinesis{...}``, ``eventID = <shardId>:<sequenceNumber>`` ...), built by the
repo's one builder (:func:`devstack.standins.kinesis_event.kinesis_record`), so handlers and
Powertools' ``KinesisStreamRecord`` see exactly what they would see in AWS.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from devstack.standins.kinesis_event import kinesis_record


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
            kinesis_record(
                record.data,
                partition_key=record.partition_key,
                sequence=record.sequence_number,
                arrival=record.arrival,
                shard_id=record.shard_id,
                stream_arn=stream_arn,
                role_arn=role_arn,
                region=region,
            )
            for record in records
        ]
    }
