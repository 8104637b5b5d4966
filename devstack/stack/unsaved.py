"""What stopping moto would lose: moto keeps Kinesis, SQS and S3 in memory only.

moto 5.2.6 has no option to save its state. The nearest thing, ``/moto-api/recorder/``,
appends every request to a file (the trigger runner's polls included, several a second) and
replays them one by one over HTTP: the file and a restore's time grow with the stack's
uptime, not its data, and every record gets a new arrival time (which
``MaximumRecordAgeInSeconds`` and iterator age are measured from). So ``featurestream local
down`` counts what would be lost first and refuses unless told to discard it:

- per stream, the records after the trigger runner's checkpoint (read but not yet processed,
  plus not yet read); a shard no running consumer reads counts every record it holds;
- per queue, the messages in it (visible, in flight or delayed);
- per bucket, its objects (the offline store lives there with ``--offline-s3``), except in
  the buckets named disposable: Athena's query results, which the template expires after
  ``AthenaResultsRetentionDays`` anyway and any query writes again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Final

ClientFactory = Callable[[str], Any]
GET_RECORDS_LIMIT: Final = 10_000
QUEUE_COUNTS: Final = (
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
)


@dataclass(frozen=True)
class Unsaved:
    """Something moto holds that a stop would lose."""

    kind: str
    name: str
    count: int
    unit: str

    def line(self) -> str:
        unit = self.unit if self.count != 1 else self.unit.removesuffix("s")
        return f"{self.kind} {self.name}: {self.count:,} {unit}"


def count_unsaved(
    client: ClientFactory,
    trigger_status: dict[str, Any] | None,
    disposable_buckets: frozenset[str] = frozenset(),
) -> list[Unsaved]:
    """Everything moto holds that is not saved elsewhere; empty when a stop loses nothing.
    ``trigger_status`` is the runner's ``/status`` document (None: the runner is down);
    objects in ``disposable_buckets`` do not count."""
    found = [
        *_streams(client("kinesis"), _checkpoints(trigger_status)),
        *_queues(client("sqs")),
        *_buckets(client("s3"), disposable_buckets),
    ]
    return [item for item in found if item.count]


Checkpoints = dict[tuple[str, str], list[tuple[int, str | None]]]


def _checkpoints(trigger_status: dict[str, Any] | None) -> Checkpoints:
    """(stream, shard) -> per consumer: records read but not processed, last sequence read."""
    found: Checkpoints = {}
    for function in (trigger_status or {}).get("functions", {}).values():
        for shard_id, shard in function.get("shards", {}).items():
            found.setdefault((function["stream"], shard_id), []).append(
                (int(shard["behind"]), shard.get("last_read_sequence_number"))
            )
    return found


def _streams(kinesis: Any, checkpoints: Checkpoints) -> Iterator[Unsaved]:
    for page in kinesis.get_paginator("list_streams").paginate():
        for stream in page["StreamNames"]:
            total = 0
            for shard_id in _shard_ids(kinesis, stream):
                consumers = checkpoints.get((stream, shard_id)) or [(0, None)]
                total += max(
                    behind + records_after(kinesis, stream, shard_id, after)
                    for behind, after in consumers
                )
            yield Unsaved("stream", stream, total, "records not yet consumed")


def _shard_ids(kinesis: Any, stream: str) -> list[str]:
    pages = kinesis.get_paginator("list_shards").paginate(StreamName=stream)
    return [shard["ShardId"] for page in pages for shard in page["Shards"]]


def records_after(kinesis: Any, stream: str, shard_id: str, after: str | None) -> int:
    """Records of a shard after sequence number ``after`` (None: all of them). moto answers
    GetRecords with every record up to the limit, so an empty page is the shard's end."""
    kwargs: dict[str, Any] = {"StreamName": stream, "ShardId": shard_id}
    if after is None:
        kwargs["ShardIteratorType"] = "TRIM_HORIZON"
    else:
        kwargs["ShardIteratorType"] = "AFTER_SEQUENCE_NUMBER"
        kwargs["StartingSequenceNumber"] = after
    iterator = kinesis.get_shard_iterator(**kwargs)["ShardIterator"]
    count = 0
    while iterator:
        page = kinesis.get_records(ShardIterator=iterator, Limit=GET_RECORDS_LIMIT)
        if not page["Records"]:
            break
        count += len(page["Records"])
        iterator = page.get("NextShardIterator")
    return count


def queue_depth(sqs: Any, url: str) -> int:
    """Messages a queue holds: visible, in flight and delayed."""
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=list(QUEUE_COUNTS))
    return sum(int(attrs["Attributes"].get(name, 0)) for name in QUEUE_COUNTS)


def _queues(sqs: Any) -> Iterator[Unsaved]:
    for url in sqs.list_queues().get("QueueUrls", []):
        yield Unsaved("queue", url.rsplit("/", 1)[-1], queue_depth(sqs, url), "messages")


def _buckets(s3: Any, disposable: frozenset[str]) -> Iterator[Unsaved]:
    for bucket in s3.list_buckets().get("Buckets", []):
        if bucket["Name"] in disposable:
            continue
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket["Name"])
        count = sum(int(page.get("KeyCount", 0)) for page in pages)
        yield Unsaved("bucket", bucket["Name"], count, "objects")
