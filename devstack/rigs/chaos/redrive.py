"""The on-failure runbook (docs/operations.md), as code: re-read each failed batch's range
from the stream and put its records back, so a fault run can prove those events were only
parked, not lost."""

from __future__ import annotations

from typing import Any


def read_range(kinesis: Any, info: dict[str, str]) -> list[dict[str, Any]]:
    """Records from ``startSequenceNumber`` to ``endSequenceNumber`` of one shard."""
    stream = info["streamArn"].rsplit("/", 1)[1]
    end = int(info["endSequenceNumber"])
    iterator = kinesis.get_shard_iterator(
        StreamName=stream,
        ShardId=info["shardId"],
        ShardIteratorType="AT_SEQUENCE_NUMBER",
        StartingSequenceNumber=info["startSequenceNumber"],
    )["ShardIterator"]
    found: list[dict[str, Any]] = []
    while iterator:
        answer = kinesis.get_records(ShardIterator=iterator, Limit=1000)
        for record in answer["Records"]:
            if int(record["SequenceNumber"]) > end:
                return found
            found.append(record)
        if not answer["Records"]:
            return found
        iterator = answer.get("NextShardIterator")
    return found


def redrive(kinesis: Any, messages: list[dict[str, Any]]) -> int:
    """Put every record of the failed batches back on its stream (in order); returns how
    many. Duplicates of records that did land are harmless online."""
    count = 0
    for message in messages:
        info = message["KinesisBatchInfo"]
        stream = info["streamArn"].rsplit("/", 1)[1]
        records = read_range(kinesis, info)
        for start in range(0, len(records), 500):
            chunk = records[start : start + 500]
            answer = kinesis.put_records(
                StreamName=stream,
                Records=[{"Data": r["Data"], "PartitionKey": r["PartitionKey"]} for r in chunk],
            )
            if answer.get("FailedRecordCount"):
                raise RuntimeError("re-putting a failed batch was refused")
            count += len(chunk)
    return count
