"""Events dated outside the accepted window, or keyed by another customer, are quarantined
with a reason that names the field, never the value; the real handlers against the Feature
Store emulator and moto's SQS."""

import json
import time
from datetime import UTC, datetime, timedelta

import pytest

from devstack.standins.kinesis_event import kinesis_event
from featurestream.contract.catalog import CUSTOMERS, ORDERS
from featurestream.contract.timeutil import format_event_time
from handlers import customer_features, order_features
from tests.fixtures.kinesis_events import (
    CUSTOMER_POSITION,
    ORDER_POSITION,
    batch,
    customer_event,
    order_event,
)

T1 = "2021-06-01T10:00:00.000Z"
T2 = "2021-06-02T10:00:00.000Z"
FAR_FUTURE = "9999-12-31T23:59:59.000Z"
YEAR_1 = "0001-01-01T00:00:00.000Z"
YEAR_1900 = "1900-01-01T00:00:00.000Z"
LATEST_REASON = "event_time is more than 300 s after the processing time"
EARLIEST_REASON = "event_time is before 2000-01-01T00:00:00.000Z, the earliest time accepted"


def reasons_by_sequence(ingest_stack) -> dict[str, str]:
    return {m["sequence_number"]: m["reason"] for m in ingest_stack.quarantined()}


def sequences(event) -> list[str]:
    return [r["kinesis"]["sequenceNumber"] for r in event["Records"]]


def test_a_far_future_order_is_quarantined_and_never_freezes_the_customer(ingest_stack):
    future = batch([order_event(9, "C1", FAR_FUTURE)])
    assert ingest_stack.invoke(order_features, future) == {"batchItemFailures": []}
    assert ingest_stack.online(ORDERS, "C1") is None
    [reason] = reasons_by_sequence(ingest_stack).values()
    assert reason.startswith(LATEST_REASON)
    assert "9999" not in reason

    real = batch([order_event(1, "C1", T1)], first=1)
    assert ingest_stack.invoke(order_features, real) == {"batchItemFailures": []}
    stored = ingest_stack.online(ORDERS, "C1")
    assert (stored["order_id"], stored["event_time"]) == ("O1", T1)


def test_a_time_past_year_9999_in_utc_is_quarantined_not_retried(ingest_stack):
    """Valid ISO-8601 whose UTC instant has no year of four digits: before the window it
    failed in the transform, and the record was redelivered until given up."""
    event = batch([order_event(1, "C1", "9999-12-31T23:00:00-23:00")])
    assert ingest_stack.invoke(order_features, event) == {"batchItemFailures": []}
    [reason] = reasons_by_sequence(ingest_stack).values()
    assert reason.startswith(LATEST_REASON)


@pytest.mark.parametrize(
    "moment", [YEAR_1, YEAR_1900, "1999-12-31T23:59:59.999Z"], ids=["y1", "y1900", "y1999"]
)
def test_too_early_orders(ingest_stack, moment):  # short: the node name becomes resource names
    """Orders dated before the earliest time accepted are quarantined."""
    event = batch([order_event(1, "C1", moment), order_event(2, "C2", T1)])
    assert ingest_stack.invoke(order_features, event) == {"batchItemFailures": []}
    assert ingest_stack.online(ORDERS, "C1") is None
    assert ingest_stack.online(ORDERS, "C2")["order_id"] == "O2"
    reasons = reasons_by_sequence(ingest_stack)
    assert list(reasons) == sequences(event)[:1]
    [reason] = reasons.values()
    assert reason.startswith(EARLIEST_REASON)
    assert moment[:4] not in reason


def test_a_profile_registered_before_the_earliest_time_is_quarantined(ingest_stack):
    updated = customer_event("C1", YEAR_1900)
    updated.update(event_type="customer.updated", event_time=T2)
    event = batch([updated, customer_event("C2", T1)], position=CUSTOMER_POSITION)
    assert ingest_stack.invoke(customer_features, event) == {"batchItemFailures": []}
    assert ingest_stack.online(CUSTOMERS, "C1") is None
    assert ingest_stack.online(CUSTOMERS, "C2") is not None
    [reason] = reasons_by_sequence(ingest_stack).values()
    assert reason.startswith("data.active_since is before 2000-01-01T00:00:00.000Z")


def test_the_upper_bound_follows_the_processing_clock_not_the_data(ingest_stack):
    """A replay shifted to end now (``--as-live``) passes; a producer clock a little ahead
    passes and is written as of its own time (recency 0 days, never negative); beyond the
    skew it is quarantined."""
    now = datetime.now(UTC)
    just_now = format_event_time(now - timedelta(seconds=1))
    ahead = format_event_time(now + timedelta(seconds=200))
    beyond = format_event_time(now + timedelta(seconds=400))
    event = batch(
        [order_event(1, "C1", just_now), order_event(2, "C2", ahead), order_event(3, "C3", beyond)]
    )
    assert ingest_stack.invoke(order_features, event) == {"batchItemFailures": []}
    assert ingest_stack.online(ORDERS, "C1")["event_time"] == just_now
    stored = ingest_stack.online(ORDERS, "C2")
    assert stored["event_time"] == ahead
    assert stored["n_days_since_last_purchase"] == "0.0"  # (0 days - min 0) / 730
    assert ingest_stack.online(ORDERS, "C3") is None
    assert list(reasons_by_sequence(ingest_stack)) == sequences(event)[2:]


def test_the_window_comes_from_the_environment(ingest_stack):
    ahead = format_event_time(datetime.now(UTC) + timedelta(seconds=60))
    event = batch([order_event(1, "C1", T1), order_event(2, "C2", T2), order_event(3, "C3", ahead)])
    response = ingest_stack.invoke(
        order_features,
        event,
        EVENT_TIME_NOT_BEFORE="2021-06-02",
        EVENT_TIME_MAX_SKEW_SECONDS="0",
    )
    assert response == {"batchItemFailures": []}
    assert [ingest_stack.online(ORDERS, c) is not None for c in ("C1", "C2", "C3")] == [
        False,
        True,
        False,
    ]
    reasons = reasons_by_sequence(ingest_stack)
    assert reasons[sequences(event)[0]].startswith("event_time is before 2021-06-02T00:00:00.000Z")
    assert reasons[sequences(event)[2]].startswith(
        "event_time is more than 0 s after the processing time"
    )


def test_a_partition_key_other_than_the_customer_is_quarantined(ingest_stack):
    """Kinesis orders records per partition key: an event of C1 keyed otherwise could be
    processed out of order with C1's other events, so it is never applied."""
    entries = [
        ("C1", json.dumps(order_event(1, "C1", T1)).encode()),
        ("C2", json.dumps(order_event(2, "C1", T2)).encode()),
        ("Jane Doe", json.dumps(order_event(3, "C3", T1)).encode()),
    ]
    event = kinesis_event(entries, position=ORDER_POSITION, arrival=time.time())
    assert ingest_stack.invoke(order_features, event) == {"batchItemFailures": []}
    assert ingest_stack.online(ORDERS, "C1")["order_id"] == "O1"
    assert ingest_stack.online(ORDERS, "C2") is None
    assert ingest_stack.online(ORDERS, "C3") is None
    messages = {m["sequence_number"]: m for m in ingest_stack.quarantined()}
    assert sorted(messages) == sorted(sequences(event)[1:])  # SQS does not keep order
    for message in messages.values():
        assert message["reason"].startswith("partition key differs from data.customer_id")
        assert "Jane" not in message["reason"] and "C2" not in message["reason"]
    assert messages[sequences(event)[2]]["partition_key"] == "Jane Doe"  # kept for repair
