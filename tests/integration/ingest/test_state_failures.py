"""The aggregate state under DynamoDB faults, on the wire: a throttling hop in front of
moto's DynamoDB server (devstack.standins.dynamodb_faults). Transient state failures follow
the outcome model: the records fail (batch item failures), none is quarantined, and Lambda's
redelivery counts every order exactly once."""

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from featurestream.contract.catalog import CUSTOMER_ORDER_STATS, ORDERS
from handlers import order_features
from tests.fixtures.kinesis_events import batch, order_event
from tests.integration.ingest.test_order_stats import assert_exact, day


def deliver_until_done(stack, events, rounds=20):
    """Lambda's redelivery: after a partial failure, the batch from the lowest failed
    sequence number on; returns how many invocations it took."""
    pending = list(events)
    for invocation in range(1, rounds + 1):
        event = batch(pending, first=1000 * invocation)
        try:
            response = stack.invoke(order_features, event)
        except BatchProcessingError:  # every record failed: the whole batch again
            continue
        failed = {f["itemIdentifier"] for f in response["batchItemFailures"]}
        if not failed:
            return invocation
        numbers = [r["kinesis"]["sequenceNumber"] for r in event["Records"]]
        lowest = min(i for i, number in enumerate(numbers) if number in failed)
        pending = pending[lowest:]
    raise AssertionError(f"still failing after {rounds} deliveries")


def test_throttled_state_table_fails_records_and_redelivery_keeps_aggregates_exact(
    ingest_stack, state_faults
):
    state_faults.throttle_rate = 0.85
    events = [
        order_event(i, f"C{1 + i % 7}", day(1 + i % 25), amount=1.25 * i) for i in range(1, 31)
    ]
    invocations = [deliver_until_done(ingest_stack, events[i : i + 10]) for i in range(0, 30, 10)]
    assert state_faults.injected > 0
    assert max(invocations) > 1  # some records did fail and were redelivered
    assert_exact(ingest_stack, events)
    assert ingest_stack.quarantined() == []


def test_state_table_throttled_throughout_fails_every_record_and_counts_nothing(
    ingest_stack, state_faults
):
    state_faults.throttle_rate = 1.0
    events = [order_event(i, f"C{i}", day(1), amount=2.0) for i in range(1, 6)]
    with pytest.raises(BatchProcessingError):  # every record failed: Lambda retries them
        ingest_stack.invoke(order_features, batch(events))
    assert ingest_stack.quarantined() == []
    assert ingest_stack.state_item("customer#C1") is None
    assert ingest_stack.online(CUSTOMER_ORDER_STATS, "C1") is None
    assert ingest_stack.online(ORDERS, "C1") is not None  # the orders group was written
    state_faults.throttle_rate = 0.0
    assert ingest_stack.invoke(order_features, batch(events)) == {"batchItemFailures": []}
    assert_exact(ingest_stack, events)


def test_a_slow_state_store_changes_nothing_but_time(ingest_stack, state_faults):
    state_faults.latency_ms = 10
    events = [order_event(i, f"C{1 + i % 3}", day(1 + i), amount=0.5 * i) for i in range(1, 11)]
    assert ingest_stack.invoke(order_features, batch(events)) == {"batchItemFailures": []}
    assert_exact(ingest_stack, events)
