"""Two one-shard streams on the session's moto server, and boto3 pointed at it through
``AWS_ENDPOINT_URL_KINESIS`` exactly as the CLI is configured in the local stack."""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest


@dataclass
class Streams:
    client: Any
    customer: str
    order: str

    def read(self, name: str) -> list[bytes]:
        """Every record's data in stream order (one shard, so arrival order)."""
        shard = self.client.list_shards(StreamName=name)["Shards"][0]["ShardId"]
        iterator = self.client.get_shard_iterator(
            StreamName=name, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        data: list[bytes] = []
        while True:
            page = self.client.get_records(ShardIterator=iterator, Limit=10_000)
            data.extend(record["Data"] for record in page["Records"])
            if not page["Records"]:
                return data
            iterator = page["NextShardIterator"]


@pytest.fixture
def streams(
    moto_server: str, unique_name: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Streams]:
    monkeypatch.setenv("AWS_ENDPOINT_URL_KINESIS", moto_server)
    client = boto3.client("kinesis")
    names = Streams(client, f"{unique_name}-c", f"{unique_name}-o")
    for name in (names.customer, names.order):
        client.create_stream(StreamName=name, ShardCount=1)
    monkeypatch.setenv("FEATURESTREAM_CUSTOMER_STREAM", names.customer)
    monkeypatch.setenv("FEATURESTREAM_ORDER_STREAM", names.order)
    yield names
    for name in (names.customer, names.order):
        client.delete_stream(StreamName=name)
