"""Lanes, batch formation, the delivered event and the on-failure message."""

import base64
import json
from collections import deque

from devstack.standins.kinesis_event import StreamPosition, kinesis_event
from devstack.standins.trigger.batching import MAX_PAYLOAD_BYTES, batch_ready, lane_for, take_batch
from devstack.standins.trigger.destination import failure_message
from devstack.standins.trigger.records import StreamRecord, build_event

STREAM = "arn:aws:kinesis:us-east-1:123456789012:stream/s"


def rec(i, key="k", data=b"{}", seen=0.0):
    return StreamRecord("shardId-000000000003", str(i), key, data, 1700000000.123 + i, seen)


def test_a_key_always_maps_to_the_same_lane_and_keys_spread():
    assert lane_for("C42", 1) == 0
    assert all(lane_for("C42", 7) == lane_for("C42", 7) for _ in range(3))
    assert len({lane_for(f"C{i}", 4) for i in range(100)}) == 4


def test_batch_ready_on_size_on_window_or_at_once_without_window():
    pending = deque([rec(1, seen=10.0), rec(2, seen=10.5)])
    assert batch_ready(pending, batch_size=2, window=5, now=10.6)
    assert not batch_ready(pending, batch_size=3, window=5, now=14.9)
    assert batch_ready(pending, batch_size=3, window=5, now=15.0)
    assert batch_ready(pending, batch_size=3, window=0, now=10.6)
    assert not batch_ready(deque(), batch_size=1, window=0, now=0)


def test_take_batch_respects_batch_size_and_the_payload_cap():
    pending = deque(rec(i) for i in range(10))
    assert [r.sequence_number for r in take_batch(pending, 4)] == ["0", "1", "2", "3"]
    big = deque(rec(i, data=b"x" * (2 * 1024 * 1024)) for i in range(5))
    batch = take_batch(big, 100)
    assert len(batch) == 2
    assert sum(r.payload_size for r in batch) <= MAX_PAYLOAD_BYTES
    huge = deque([rec(0, data=b"x" * (7 * 1024 * 1024))])
    assert len(take_batch(huge, 100)) == 1  # never an empty batch


def test_build_event_matches_the_lambda_shape():
    event = build_event(
        [rec(7, key="C1", data=b'{"a": 1}')],
        stream_arn=STREAM,
        region="us-east-1",
        role_arn="arn:aws:iam::123456789012:role/r",
    )
    assert event == {
        "Records": [
            {
                "kinesis": {
                    "kinesisSchemaVersion": "1.0",
                    "partitionKey": "C1",
                    "sequenceNumber": "7",
                    "data": base64.b64encode(b'{"a": 1}').decode(),
                    "approximateArrivalTimestamp": 1700000007.123,
                },
                "eventSource": "aws:kinesis",
                "eventVersion": "1.0",
                "eventID": "shardId-000000000003:7",
                "eventName": "aws:kinesis:record",
                "invokeIdentityArn": "arn:aws:iam::123456789012:role/r",
                "awsRegion": "us-east-1",
                "eventSourceARN": STREAM,
            }
        ]
    }
    json.dumps(event)


def test_the_runner_and_the_sample_events_build_the_same_event_for_the_same_record():
    position = StreamPosition("s", shard_id="shardId-000000000003", role_name="r")
    sample = kinesis_event([("C1", b'{"a": 1}')], position=position, arrival=1700000007.123)
    sequence = sample["Records"][0]["kinesis"]["sequenceNumber"]
    delivered = build_event(
        [StreamRecord("shardId-000000000003", sequence, "C1", b'{"a": 1}', 1700000007.123)],
        stream_arn=STREAM,
        region="us-east-1",
        role_arn="arn:aws:iam::123456789012:role/r",
    )
    assert json.dumps(delivered) == json.dumps(sample)


def test_failure_message_fields():
    message = failure_message(
        [rec(1), rec(2), rec(3)],
        stream_arn=STREAM,
        function_arn="arn:aws:lambda:us-east-1:123456789012:function:f",
        condition="RetryAttemptsExhausted",
        invoke_count=4,
        function_error="Unhandled",
        now=1700000100.5,
    )
    assert message["version"] == "1.0"
    assert message["timestamp"] == "2023-11-14T22:15:00.500Z"
    assert message["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert message["requestContext"]["approximateInvokeCount"] == 4
    assert message["responseContext"] == {
        "statusCode": 200,
        "executedVersion": "$LATEST",
        "functionError": "Unhandled",
    }
    assert message["KinesisBatchInfo"] == {
        "shardId": "shardId-000000000003",
        "startSequenceNumber": "1",
        "endSequenceNumber": "3",
        "approximateArrivalOfFirstRecord": "2023-11-14T22:13:21.123Z",
        "approximateArrivalOfLastRecord": "2023-11-14T22:13:23.123Z",
        "batchSize": 3,
        "streamArn": STREAM,
    }
    partial = failure_message(
        [rec(1)],
        stream_arn=STREAM,
        function_arn="f",
        condition="RetryAttemptsExhausted",
        invoke_count=1,
        function_error=None,
    )
    assert "functionError" not in partial["responseContext"]
