"""The patched moto (``python -m devstack.standins.moto_service``) answers Kinesis exactly like moto
as shipped: the same records, sequence numbers, shards and iterators, page by page. The
session's unpatched moto server is the reference; the patched one runs as a subprocess so the
patch never leaks into this test process."""

import json
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from devstack.stack.process import BackgroundService
from devstack.standins.moto_service import moto_spec


@pytest.fixture(scope="module")
def patched_moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    service = BackgroundService(moto_spec(), tmp_path_factory.mktemp("moto-state"))
    status = service.start()
    assert status.url is not None
    try:
        yield status.url
    finally:
        service.stop()


def _scenario(endpoint: str, stream: str) -> list[object]:
    """Everything a consumer can observe of one stream, with arrival times left out."""
    kinesis = boto3.client("kinesis", endpoint_url=endpoint)
    kinesis.create_stream(StreamName=stream, ShardCount=3)
    seen: list[object] = []
    for batch in range(4):
        entries = [
            {"Data": json.dumps({"n": batch * 100 + i}).encode(), "PartitionKey": f"C{i % 17}"}
            for i in range(100)
        ]
        response = kinesis.put_records(StreamName=stream, Records=entries)
        seen.append([(r["ShardId"], r["SequenceNumber"]) for r in response["Records"]])
    single = kinesis.put_record(StreamName=stream, Data=b"one", PartitionKey="C3")
    seen.append((single["ShardId"], single["SequenceNumber"]))
    shards = kinesis.list_shards(StreamName=stream)["Shards"]
    seen.append(shards)
    for shard in shards:
        shard_id = shard["ShardId"]
        for kind, extra in (
            ("TRIM_HORIZON", {}),
            ("AFTER_SEQUENCE_NUMBER", {"StartingSequenceNumber": "5"}),
            ("AT_SEQUENCE_NUMBER", {"StartingSequenceNumber": "7"}),
            ("LATEST", {}),
        ):
            iterator = kinesis.get_shard_iterator(
                StreamName=stream, ShardId=shard_id, ShardIteratorType=kind, **extra
            )["ShardIterator"]
            for _ in range(6):
                page = kinesis.get_records(ShardIterator=iterator, Limit=37)
                seen.append(
                    (
                        kind,
                        [
                            (r["SequenceNumber"], r["PartitionKey"], r["Data"])
                            for r in page["Records"]
                        ],
                        page["MillisBehindLatest"] >= 0,
                    )
                )
                iterator = page["NextShardIterator"]
    return seen


def test_patched_kinesis_answers_like_moto(
    patched_moto: str, moto_server: str, unique_name: str
) -> None:
    stream = unique_name.lower()
    assert _scenario(patched_moto, stream) == _scenario(moto_server, stream)


def test_errors_still_come_back_as_kinesis_errors(patched_moto: str) -> None:
    kinesis = boto3.client("kinesis", endpoint_url=patched_moto)
    with pytest.raises(kinesis.exceptions.ResourceNotFoundException):
        kinesis.put_records(
            StreamName="no-such-stream", Records=[{"Data": b"x", "PartitionKey": "k"}]
        )
    with pytest.raises(kinesis.exceptions.ClientError):
        kinesis.get_records(ShardIterator="not-an-iterator")


def test_the_service_spec_points_every_moto_service_variable_at_it() -> None:
    spec = moto_spec(4999)
    assert spec.port == 4999
    assert set(spec.endpoint_env) == {
        f"AWS_ENDPOINT_URL_{s}" for s in ("KINESIS", "SQS", "S3", "DYNAMODB", "CLOUDWATCH", "GLUE")
    }
    assert Path(spec.argv[0]).name.startswith("python")
