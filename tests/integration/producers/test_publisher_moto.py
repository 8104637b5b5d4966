"""The publisher against moto's Kinesis (server mode). moto never fails single records,
so failures are injected by wrapping the real client (RecordingClient with ``inner``)."""

import json
import random

import boto3
import pytest

from producers.batching import BatchLimits
from producers.publisher import EventPublisher, PublishError, RetryPolicy
from producers.streams import StreamNames
from tests.integration.producers.conftest import Streams
from tests.unit.producers.support import RecordingClient, order_event


def publisher_for(streams: Streams, client, **kwargs) -> EventPublisher:
    return EventPublisher(
        StreamNames(streams.customer, streams.order),
        client=client,
        flush_at_exit=False,
        sleep=lambda seconds: None,
        rng=random.Random(1),
        **kwargs,
    )


def test_batches_respect_the_record_count_and_byte_limits(streams: Streams) -> None:
    recorder = RecordingClient(inner=boto3.client("kinesis"))
    publisher = publisher_for(
        streams, recorder, limits=BatchLimits(max_request_bytes=60_000, max_record_bytes=60_000)
    )
    events = [order_event(n, f"C{n}") for n in range(1, 1235)]
    assert publisher.publish(events) == []
    sizes = [len(call) for call in recorder.calls]
    assert max(sizes) <= 500 and sum(sizes) == 1234
    assert all(
        sum(len(r["Data"]) + len(r["PartitionKey"]) for r in call) <= 60_000
        for call in recorder.calls
    )
    stored = streams.read(streams.order)
    assert [json.loads(d)["event_id"] for d in stored] == [e["event_id"] for e in events]


def test_default_limits_use_500_record_requests(streams: Streams) -> None:
    recorder = RecordingClient(inner=boto3.client("kinesis"))
    publisher = publisher_for(streams, recorder, buffer_records=10_000)
    assert publisher.publish([order_event(n, f"C{n}") for n in range(1, 1101)]) == []
    assert [len(call) for call in recorder.calls] == [500, 500, 100]


def test_partial_failures_are_resent_and_each_customers_order_survives(streams: Streams) -> None:
    def fail(key: str, data: bytes, attempt: int) -> str | None:
        order = int(json.loads(data)["data"]["order_id"][1:])
        return "ProvisionedThroughputExceededException" if order % 7 == 0 and attempt <= 2 else None

    recorder = RecordingClient(fail, inner=boto3.client("kinesis"))
    publisher = publisher_for(streams, recorder, retry=RetryPolicy(max_retries=3))
    events = [order_event(n, f"C{n % 5}" if n % 5 else "C5") for n in range(1, 201)]
    assert publisher.publish(events) == []
    stats = publisher.stats
    assert stats.sent == 200 and stats.retried > 0 and stats.failed == 0
    stored = [json.loads(d) for d in streams.read(streams.order)]
    assert sorted(e["event_id"] for e in stored) == sorted(e["event_id"] for e in events)
    for customer in ("C1", "C2", "C3", "C4", "C5"):
        sent_order = [e["event_id"] for e in events if e["data"]["customer_id"] == customer]
        stored_order = [e["event_id"] for e in stored if e["data"]["customer_id"] == customer]
        assert stored_order == sent_order


def test_missing_stream_raises_without_retry_loop(streams: Streams) -> None:
    publisher = EventPublisher(StreamNames(streams.customer, "no-such-stream"), flush_at_exit=False)
    publisher.put(order_event(1))
    with pytest.raises(PublishError, match="'no-such-stream' not found"):
        publisher.flush()
    assert publisher.buffered == 1


def customer_event(customer: str) -> dict:
    moment = "2020-01-01T10:00:00Z"
    return {
        "event_id": f"customer.registered:{customer}",
        "schema_version": 1,
        "event_type": "customer.registered",
        "event_time": moment,
        "source": "test",
        "data": {
            "customer_id": customer,
            "sex": "F",
            "age": 40,
            "is_married": False,
            "active_since": moment,
        },
    }


def test_a_stream_error_keeps_earlier_failures_and_the_unsent_events(streams: Streams) -> None:
    """Customers are flushed first: C2's registration fails for good, then the order
    stream turns out to be missing. Neither the failure nor the order may be lost."""
    c2_fails = RecordingClient(
        lambda key, data, attempt: "InternalFailure" if key == "C2" else None,
        inner=boto3.client("kinesis"),
    )
    publisher = EventPublisher(
        StreamNames(streams.customer, "no-such-stream"),
        client=c2_fails,
        flush_at_exit=False,
        sleep=lambda seconds: None,
    )
    for event in (customer_event("C1"), customer_event("C2"), order_event(1, "C1")):
        publisher.put(event)
    with pytest.raises(PublishError):
        publisher.flush()
    assert [f.event.event_id for f in publisher.take_failures()] == ["customer.registered:C2"]
    assert [event.event_id for event in publisher.pending()] == ["order.placed:O1"]
    stored = [json.loads(d)["event_id"] for d in streams.read(streams.customer)]
    assert stored == ["customer.registered:C1"]
    assert publisher.take_failures() == []  # taken once
