import json
import random
import threading
import zlib

import pytest
from botocore.exceptions import ClientError

from featurestream.contract.events import InvalidEvent
from producers.batching import BatchLimits
from producers.publisher import (
    HELD_BEHIND_FAILURE,
    EventPublisher,
    PublishError,
    RetryPolicy,
)
from producers.streams import StreamNames
from tests.unit.producers.support import RecordingClient, order_event

STREAMS = StreamNames("customers-test", "orders-test")


def make(client, **kwargs) -> tuple[EventPublisher, list[float]]:
    sleeps: list[float] = []
    publisher = EventPublisher(
        STREAMS,
        client=client,
        flush_at_exit=False,
        sleep=sleeps.append,
        rng=random.Random(7),
        **kwargs,
    )
    return publisher, sleeps


def order_ids(records) -> list[str]:
    return [json.loads(data)["data"]["order_id"] for _, data in records]


def test_invalid_event_is_rejected_at_the_caller_and_never_sent() -> None:
    client = RecordingClient()
    publisher, _ = make(client)
    bad = order_event(1)
    bad["data"]["customer_id"] = "customer-1"
    with pytest.raises(InvalidEvent, match=r"data\.customer_id"):
        publisher.put(bad)
    assert publisher.flush() == []
    assert client.calls == []


def test_publish_validates_everything_before_sending_anything() -> None:
    client = RecordingClient()
    publisher, _ = make(client)
    bad = order_event(2)
    del bad["data"]["purchase_amount"]
    with pytest.raises(InvalidEvent, match="purchase_amount"):
        publisher.publish([order_event(1), bad])
    assert client.calls == []


def test_only_failed_records_are_resent_with_backoff() -> None:
    failing = {b"O2", b"O5"}

    def fail(key: str, data: bytes, attempt: int) -> str | None:
        order = json.loads(data)["data"]["order_id"].encode()
        return (
            "ProvisionedThroughputExceededException" if order in failing and attempt == 1 else None
        )

    client = RecordingClient(fail)
    publisher, sleeps = make(client)
    failures = publisher.publish([order_event(n, f"C{n}") for n in range(1, 7)])
    assert failures == []
    assert len(client.calls) == 2
    resent = [json.loads(r["Data"])["data"]["order_id"] for r in client.calls[1]]
    assert resent == ["O2", "O5"]
    assert len(sleeps) == 1 and 0.05 <= sleeps[0] <= 0.1
    stats = publisher.stats
    assert (stats.sent, stats.retried, stats.failed) == (6, 2, 0)


def test_a_customers_later_events_never_overtake_a_failed_one() -> None:
    # C1's first order fails twice; its later orders must wait and keep their order.
    def fail(key: str, data: bytes, attempt: int) -> str | None:
        return "InternalFailure" if b'"O1"' in data and attempt <= 2 else None

    client = RecordingClient(fail)
    publisher, _ = make(client)
    events = [
        order_event(1, "C1"),
        order_event(2, "C2"),
        order_event(3, "C1"),
        order_event(4, "C1"),
    ]
    assert publisher.publish(events) == []
    c1 = [
        ident
        for key, ident in zip(
            [k for k, _ in client.accepted], order_ids(client.accepted), strict=True
        )
        if key == "C1"
    ]
    assert c1 == ["O1", "O3", "O4"]
    for call in client.calls:  # never two records of one customer in one request
        keys = [r["PartitionKey"] for r in call]
        assert len(keys) == len(set(keys))


def test_records_out_of_retries_are_returned_with_the_same_customers_later_ones() -> None:
    def fail(key: str, data: bytes, attempt: int) -> str | None:
        return "ProvisionedThroughputExceededException" if b'"O1"' in data else None

    client = RecordingClient(fail)
    publisher, sleeps = make(client, retry=RetryPolicy(max_retries=3, base_delay=0.01))
    events = [order_event(1, "C1"), order_event(2, "C2"), order_event(3, "C1")]
    failures = publisher.publish(events)
    assert [(f.event.event_id, f.error_code) for f in failures] == [
        ("order.placed:O1", "ProvisionedThroughputExceededException"),
        ("order.placed:O3", HELD_BEHIND_FAILURE),
    ]
    assert failures[0].attempts == 4
    assert order_ids(client.accepted) == ["O2"]
    assert len(sleeps) == 3 and sleeps == sorted(sleeps)  # exponential, bounded
    assert publisher.stats.failed == 2


def test_missing_stream_is_a_clear_error_at_once_and_nothing_is_lost() -> None:
    class Missing:
        calls = 0

        def put_records(self, **kwargs):
            Missing.calls += 1
            raise ClientError(
                {
                    "Error": {"Code": "ResourceNotFoundException", "Message": "not found"},
                    "ResponseMetadata": {"HTTPStatusCode": 400},
                },
                "PutRecords",
            )

    publisher, sleeps = make(Missing())
    publisher.put(order_event(1))
    with pytest.raises(PublishError, match="'orders-test' not found"):
        publisher.flush()
    assert Missing.calls == 1 and sleeps == []
    assert publisher.buffered == 1


def test_whole_call_throttling_after_botocore_gave_up_counts_as_a_failed_attempt() -> None:
    class Throttled:
        def __init__(self) -> None:
            self.calls = 0

        def put_records(self, **kwargs):
            self.calls += 1
            if self.calls == 1:
                raise ClientError(
                    {
                        "Error": {"Code": "ProvisionedThroughputExceededException", "Message": "x"},
                        "ResponseMetadata": {"HTTPStatusCode": 400},
                    },
                    "PutRecords",
                )
            return {
                "FailedRecordCount": 0,
                "Records": [{"SequenceNumber": "1"}] * len(kwargs["Records"]),
            }

    client = Throttled()
    publisher, _ = make(client)
    assert publisher.publish([order_event(1), order_event(2, "C2")]) == []
    assert client.calls == 2
    assert publisher.stats.sent == 2 and publisher.stats.retried == 2


def test_buffer_sends_by_itself_when_full_and_routes_by_event_type() -> None:
    client = RecordingClient()
    streams: list[str] = []
    original = client.put_records

    def spy(*, StreamName, Records):
        streams.append(StreamName)
        return original(StreamName=StreamName, Records=Records)

    client.put_records = spy  # type: ignore[method-assign]
    publisher, _ = make(client, buffer_records=3)
    for n in range(1, 4):
        publisher.put(order_event(n, f"C{n}"))
    assert streams == ["orders-test"] and publisher.buffered == 0


def test_oversized_record_is_rejected() -> None:
    publisher, _ = make(
        RecordingClient(), limits=BatchLimits(max_record_bytes=100, max_request_bytes=1000)
    )
    with pytest.raises(InvalidEvent, match="limit is 100"):
        publisher.put(order_event(1))


def test_concurrent_callers_all_delivered_in_per_customer_order() -> None:
    def fail(key: str, data: bytes, attempt: int) -> str | None:
        return "InternalFailure" if attempt == 1 and zlib.crc32(data) % 5 == 0 else None

    client = RecordingClient(fail)
    publisher, _ = make(client, buffer_records=7)

    def worker(customer: int) -> None:
        for n in range(40):
            publisher.put(order_event(customer * 1000 + n + 1, f"C{customer}"))

    threads = [threading.Thread(target=worker, args=(c,)) for c in range(1, 9)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert publisher.flush() == []
    assert publisher.stats.sent == 320
    for customer in range(1, 9):
        ids = [
            int(i[1:])
            for (key, _), i in zip(client.accepted, order_ids(client.accepted), strict=True)
            if key == f"C{customer}"
        ]
        assert ids == sorted(ids) and len(ids) == 40


def test_context_manager_flushes_on_exit() -> None:
    client = RecordingClient()
    with make(client)[0] as publisher:
        publisher.put(order_event(1))
    assert order_ids(client.accepted) == ["O1"]


def test_aws_region_is_used_when_boto3_finds_no_region(
    monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    """AWS_REGION is the setting every AWS SDK shares; boto3 alone reads AWS_DEFAULT_REGION."""
    from producers.publisher import make_kinesis_client

    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))  # no profile region
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    assert make_kinesis_client().meta.region_name == "eu-west-1"
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-west-2")  # boto3's own setting wins
    assert make_kinesis_client().meta.region_name == "us-west-2"
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.delenv("AWS_REGION")
    with pytest.raises(PublishError, match="no AWS region configured"):
        make_kinesis_client()
