"""The shard poller reads again at once only while the shard reports being behind."""

import threading
import time
from pathlib import Path

from devstack.standins.trigger.config import EventSourceMapping
from devstack.standins.trigger.consumer import ShardConsumer
from devstack.standins.trigger.pool import InvokeResult
from devstack.standins.trigger.records import StreamRecord


class FakeReader:
    """One record per read; MillisBehindLatest as configured."""

    shard_id = "shardId-000000000000"
    closed = False

    def __init__(self, behind: int) -> None:
        self.behind = behind
        self.reads = 0
        self.last_sequence_number: str | None = None

    def read(self) -> tuple[list[StreamRecord], int]:
        self.reads += 1
        self.last_sequence_number = str(self.reads)
        record = StreamRecord(self.shard_id, str(self.reads), "k", b"{}", time.time(), 0.0)
        return [record], self.behind


class Ok:
    def invoke(self, event):
        return InvokeResult("r", response={})


def mapping() -> EventSourceMapping:
    return EventSourceMapping(
        function_id="F",
        event_id="E",
        function_name="f",
        function_arn="arn:aws:lambda:us-east-1:123456789012:function:f",
        role_arn="arn:aws:iam::123456789012:role/r",
        handler="h.handler",
        code_dir=Path("."),
        timeout=3,
        memory_size=128,
        environment={},
        stream_name="s",
        stream_arn="arn:aws:kinesis:us-east-1:123456789012:stream/s",
        region="us-east-1",
    )


def reads_in(seconds: float, behind: int) -> int:
    reader = FakeReader(behind)
    consumer = ShardConsumer(
        mapping(), reader, Ok(), None, poll_interval=0.5, max_pending=10**9, retry_backoff=0
    )
    consumer.start()
    threading.Event().wait(seconds)
    consumer.stop()
    consumer.join(2)
    return reader.reads


def test_a_shard_that_is_not_behind_is_read_once_per_poll_interval():
    assert reads_in(1.2, behind=0) <= 3  # at 0, 0.5 and 1.0 s


def test_a_shard_that_is_behind_is_read_again_at_once():
    assert reads_in(0.3, behind=5000) > 10
