"""Build the exact event Lambda hands a function for a Kinesis batch (docs/trigger-runner.md).

Not used on the Lambda path: the sample events (``featurestream events``), the tests, the
benchmark and the local event-source-mapping runner (``devstack.standins.trigger.records``)
build their events here, so all of them agree on one shape. Stdlib only.
"""

import base64
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final

DEFAULT_ACCOUNT: Final = "123456789012"
DEFAULT_REGION: Final = "us-east-1"
DEFAULT_SHARD: Final = "shardId-000000000000"
FIRST_SEQUENCE_NUMBER: Final = 49590338271490256608559692538361571095921575989136588898
"""A realistic 56-digit Kinesis sequence number; later records add to it."""


@dataclass(frozen=True)
class StreamPosition:
    """Where a batch comes from: the stream, its shard, and the function's identity."""

    stream_name: str
    shard_id: str = DEFAULT_SHARD
    region: str = DEFAULT_REGION
    account: str = DEFAULT_ACCOUNT
    role_name: str = "featurestream-function-role"

    @property
    def stream_arn(self) -> str:
        return f"arn:aws:kinesis:{self.region}:{self.account}:stream/{self.stream_name}"

    @property
    def role_arn(self) -> str:
        return f"arn:aws:iam::{self.account}:role/{self.role_name}"


def sequence_number(index: int, *, first: int = FIRST_SEQUENCE_NUMBER) -> str:
    """The ``index``-th sequence number of a shard: increasing, as digit strings."""
    return str(first + index * 1_000_000)


def kinesis_record(
    data: bytes,
    *,
    partition_key: str,
    sequence: str,
    arrival: float,
    shard_id: str,
    stream_arn: str,
    role_arn: str,
    region: str,
) -> dict[str, Any]:
    """One entry of ``Records``: the producer's bytes base64-encoded, as Lambda delivers;
    ``arrival`` is epoch seconds, written as given."""
    return {
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": partition_key,
            "sequenceNumber": sequence,
            "data": base64.b64encode(data).decode("ascii"),
            "approximateArrivalTimestamp": arrival,
        },
        "eventSource": "aws:kinesis",
        "eventVersion": "1.0",
        "eventID": f"{shard_id}:{sequence}",
        "eventName": "aws:kinesis:record",
        "invokeIdentityArn": role_arn,
        "awsRegion": region,
        "eventSourceARN": stream_arn,
    }


def kinesis_event(
    entries: Iterable[tuple[str, bytes]],
    *,
    position: StreamPosition,
    arrival: float,
    first_index: int = 0,
) -> dict[str, Any]:
    """A batch from ``(partition_key, data)`` pairs, in order, one millisecond apart."""
    return {
        "Records": [
            kinesis_record(
                data,
                partition_key=key,
                sequence=sequence_number(first_index + offset),
                arrival=round(arrival + offset / 1000, 3),
                shard_id=position.shard_id,
                stream_arn=position.stream_arn,
                role_arn=position.role_arn,
                region=position.region,
            )
            for offset, (key, data) in enumerate(entries)
        ]
    }
