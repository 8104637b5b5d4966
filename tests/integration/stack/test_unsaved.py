"""What stopping moto would lose, counted on a real moto server: records after a consumer's
checkpoint, every record of a stream no consumer reads, messages (in flight too), objects."""

from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from devstack.stack.deployment import CREDENTIALS, REGION
from devstack.stack.process import BackgroundService
from devstack.stack.unsaved import Unsaved, count_unsaved
from devstack.standins.moto_service import moto_spec


@pytest.fixture(scope="module")
def moto_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    moto = BackgroundService(moto_spec(), tmp_path_factory.mktemp("moto-state"))
    try:
        url = moto.start().url
        assert url is not None
        yield url
    finally:
        moto.stop()


@pytest.fixture
def client(moto_url: str) -> Any:
    def make(service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=moto_url,
            region_name=REGION,
            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )

    return make


def _stream(kinesis: Any, name: str, records: int) -> tuple[str, list[str]]:
    """A one-shard stream holding ``records`` records; its shard id and sequence numbers."""
    kinesis.create_stream(StreamName=name, ShardCount=1)
    sequence = [
        kinesis.put_record(StreamName=name, Data=b"{}", PartitionKey=f"K{n}")["SequenceNumber"]
        for n in range(records)
    ]
    shard_id = kinesis.list_shards(StreamName=name)["Shards"][0]["ShardId"]
    return shard_id, sequence


def _status(*consumers: tuple[str, str, int, str | None]) -> dict[str, Any]:
    """A trigger runner /status document: (stream, shard, behind, last read) per function."""
    functions = {
        f"F{n}": {
            "stream": stream,
            "shards": {shard: {"behind": behind, "last_read_sequence_number": last}},
        }
        for n, (stream, shard, behind, last) in enumerate(consumers)
    }
    return {"functions": functions}


def test_counts_after_the_checkpoint_what_no_one_reads_messages_and_objects(client: Any) -> None:
    kinesis, sqs, s3 = client("kinesis"), client("sqs"), client("s3")
    read_shard, read_seq = _stream(kinesis, "read-by-one", 5)
    _stream(kinesis, "read-by-none", 2)
    _stream(kinesis, "empty", 0)
    queue = sqs.create_queue(QueueName="failures")["QueueUrl"]
    sqs.create_queue(QueueName="empty-queue")
    for body in ("a", "b"):
        sqs.send_message(QueueUrl=queue, MessageBody=body)
    sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=1)  # one in flight
    s3.create_bucket(Bucket="offline")
    s3.create_bucket(Bucket="empty-bucket")
    for key in ("a.parquet", "b.parquet", "c/d.parquet"):
        s3.put_object(Bucket="offline", Key=key, Body=b"x")

    # The runner read 3 records and has processed 2 of them: 1 in hand, 2 unread.
    status = _status(("read-by-one", read_shard, 1, read_seq[2]))
    found = count_unsaved(client, status)

    assert sorted(found, key=lambda u: (u.kind, u.name)) == [
        Unsaved("bucket", "offline", 3, "objects"),
        Unsaved("queue", "failures", 2, "messages"),
        Unsaved("stream", "read-by-none", 2, "records not yet consumed"),
        Unsaved("stream", "read-by-one", 3, "records not yet consumed"),
    ]
    assert Unsaved("queue", "failures", 1, "messages").line() == "queue failures: 1 message"

    # The consumer furthest behind decides; without a runner, every record counts.
    two = _status(
        ("read-by-one", read_shard, 0, read_seq[4]), ("read-by-one", read_shard, 0, read_seq[0])
    )
    assert Unsaved("stream", "read-by-one", 4, "records not yet consumed") in count_unsaved(
        client, two
    )
    assert Unsaved("stream", "read-by-one", 5, "records not yet consumed") in count_unsaved(
        client, None
    )


def test_a_caught_up_consumer_and_empty_resources_leave_nothing_to_lose(client: Any) -> None:
    kinesis = client("kinesis")
    shard, sequence = _stream(kinesis, "caught-up", 3)
    for stream in kinesis.list_streams()["StreamNames"]:
        if stream != "caught-up":
            kinesis.delete_stream(StreamName=stream)
    sqs, s3 = client("sqs"), client("s3")
    for url in sqs.list_queues().get("QueueUrls", []):
        sqs.delete_queue(QueueUrl=url)
    for bucket in s3.list_buckets()["Buckets"]:
        for item in s3.list_objects_v2(Bucket=bucket["Name"]).get("Contents", []):
            s3.delete_object(Bucket=bucket["Name"], Key=item["Key"])
    assert count_unsaved(client, _status(("caught-up", shard, 0, sequence[-1]))) == []


def test_objects_in_a_disposable_bucket_do_not_count(client: Any) -> None:
    s3 = client("s3")
    s3.create_bucket(Bucket="query-results")
    s3.put_object(Bucket="query-results", Key="results/q.csv", Body=b"x")
    counted = count_unsaved(client, None)
    assert Unsaved("bucket", "query-results", 1, "objects") in counted
    kept = count_unsaved(client, None, frozenset({"query-results"}))
    assert [u for u in kept if u.name == "query-results"] == []
