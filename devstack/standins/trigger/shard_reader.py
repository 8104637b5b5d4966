"""Reading one shard with GetRecords, the way Lambda's standard-iterator poller does.

botocore retries throttling and transient errors (standard mode); this adds only what it
cannot know: renewing an expired iterator after the last record read, and noticing that a
closed shard (after resharding) has been read to its end.
"""

from __future__ import annotations

import time
from typing import Any

from botocore.exceptions import ClientError

from devstack.standins.trigger.records import StreamRecord

GET_RECORDS_LIMIT = 10_000


class ShardReader:
    """An iterator over one shard; ``read()`` returns the next page of records."""

    def __init__(
        self, kinesis: Any, stream_arn: str, shard_id: str, starting_position: str
    ) -> None:
        self.kinesis = kinesis
        self.stream_arn = stream_arn
        self.shard_id = shard_id
        self.starting_position = starting_position
        self.last_sequence_number: str | None = None
        self.closed = False
        self._iterator: str | None = None

    def _new_iterator(self) -> str:
        # By name: moto's iterators taken by ARN do not resolve in GetRecords.
        stream_name = self.stream_arn.split(":stream/", 1)[1]
        kwargs: dict[str, Any] = {"StreamName": stream_name, "ShardId": self.shard_id}
        if self.last_sequence_number is not None:
            kwargs["ShardIteratorType"] = "AFTER_SEQUENCE_NUMBER"
            kwargs["StartingSequenceNumber"] = self.last_sequence_number
        else:
            kwargs["ShardIteratorType"] = self.starting_position
        return str(self.kinesis.get_shard_iterator(**kwargs)["ShardIterator"])

    def open(self) -> None:
        """Take the starting iterator now (so LATEST means "from this moment")."""
        if self._iterator is None:
            self._iterator = self._new_iterator()

    def read(self, limit: int = GET_RECORDS_LIMIT) -> tuple[list[StreamRecord], int | None]:
        """The next records (possibly none) and MillisBehindLatest."""
        if self.closed:
            return [], 0
        self.open()
        try:
            page = self.kinesis.get_records(ShardIterator=self._iterator, Limit=limit)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ExpiredIteratorException":
                raise
            self._iterator = self._new_iterator()
            page = self.kinesis.get_records(ShardIterator=self._iterator, Limit=limit)
        seen = time.monotonic()
        records = [StreamRecord.from_kinesis(self.shard_id, r, seen) for r in page["Records"]]
        if records:
            self.last_sequence_number = records[-1].sequence_number
        self._iterator = page.get("NextShardIterator")
        if self._iterator is None:
            self.closed = True
        behind = page.get("MillisBehindLatest")
        return records, None if behind is None else int(behind)
