"""The stream handlers write through BatchWriteRecord: coalescing, per-entry outcomes and
PutRecord's semantics (event-time gate, full replace) against the Feature Store emulator."""

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest

from devstack.standins.featurestore.config import FaultConfig
from featurestream.aws.clients import client_config
from featurestream.aws.store_errors import StoreRejected, TransientStoreError
from featurestream.contract.catalog import ORDERS
from featurestream.ingest.store_writer import StoreWriter
from handlers import order_features
from tests.fixtures.kinesis_events import batch, order_event

T1 = "2021-06-01T10:00:00.000Z"
T2 = "2021-06-02T10:00:00.000Z"
T3 = "2021-06-03T10:00:00.000Z"


@pytest.fixture
def calls(monkeypatch):
    """Identifiers of every BatchWriteRecord call the writer makes (re-sends included) to
    the stream's own group (the order function also writes customer-order-stats)."""
    seen: list[list[str]] = []
    lock = threading.Lock()
    original = StoreWriter._call

    def spy(self, call, decided):
        if self.feature_group_name != os.environ.get("STATS_FEATURE_GROUP_NAME"):
            with lock:
                seen.append([pending.key for pending in call])
        return original(self, call, decided)

    monkeypatch.setattr(StoreWriter, "_call", spy)
    return seen


def test_a_batch_is_coalesced_into_few_calls(ingest_stack, featurestore_server, calls):
    featurestore_server.faults = FaultConfig(
        latency_ms=20, operations=frozenset({"BatchWriteRecord", "PutRecord"})
    )
    events = [order_event(i, f"C{i}", T1) for i in range(1, 101)]
    featurestore_server.stats.reset()
    response = ingest_stack.invoke(order_features, batch(events), PUT_CONCURRENCY="4")
    assert response == {"batchItemFailures": []}
    served = featurestore_server.stats.snapshot()
    assert "PutRecord" not in served
    # and as many again for the 100 customers' order aggregates
    assert served["BatchWriteRecord"]["calls"] == 2 * len(calls)
    assert [len(call) for call in calls] == [25, 25, 25, 25]
    assert sorted(key for call in calls for key in call) == sorted(f"C{i}" for i in range(1, 101))
    assert all(ingest_stack.online(ORDERS, f"C{i}") for i in range(1, 101))


def test_never_two_entries_of_one_customer_in_a_call(ingest_stack, calls):
    events = [
        order_event(10 * c + n, f"C{c}", f"2021-06-0{n}T10:00:00.000Z")
        for n in (1, 2, 3)
        for c in range(1, 31)
    ]
    response = ingest_stack.invoke(order_features, batch(events), STORE_BATCH_LINGER_MS="20")
    assert response == {"batchItemFailures": []}
    assert all(len(call) == len(set(call)) for call in calls)
    for c in range(1, 31):  # each customer's writes landed in order: the newest is online
        assert ingest_stack.online(ORDERS, f"C{c}")["order_id"] == f"O{10 * c + 3}"


def test_older_events_in_a_later_batch_never_win(ingest_stack):
    newer = [order_event(100 + i, f"C{i}", T3) for i in range(1, 31)]
    older = [order_event(200 + i, f"C{i}", T2) for i in range(1, 31)]
    assert ingest_stack.invoke(order_features, batch(newer)) == {"batchItemFailures": []}
    assert ingest_stack.invoke(order_features, batch(older, first=50)) == {"batchItemFailures": []}
    assert all(
        ingest_stack.online(ORDERS, f"C{i}")["order_id"] == f"O{100 + i}" for i in range(1, 31)
    )


def test_a_replayed_batch_changes_nothing_online(ingest_stack):
    event = batch([order_event(i, f"C{i}", T1) for i in range(1, 41)])
    assert ingest_stack.invoke(order_features, event) == {"batchItemFailures": []}
    first = {i: ingest_stack.online(ORDERS, f"C{i}") for i in range(1, 41)}
    assert ingest_stack.invoke(order_features, event) == {"batchItemFailures": []}
    assert {i: ingest_stack.online(ORDERS, f"C{i}") for i in range(1, 41)} == first


def test_throttled_calls_past_the_retry_budget_fail_each_entry(ingest_stack, featurestore_server):
    featurestore_server.faults = FaultConfig(
        throttle_rate=1.0, operations=frozenset({"BatchWriteRecord"})
    )
    event = batch([order_event(i, f"C{i}", T1) for i in range(1, 6)] + [b"not json"])
    response = ingest_stack.invoke(order_features, event, STORE_MAX_ATTEMPTS="1")
    records = event["Records"]
    assert response == {
        "batchItemFailures": [
            {"itemIdentifier": r["kinesis"]["sequenceNumber"]} for r in records[:5]
        ]
    }
    assert len(ingest_stack.quarantined()) == 1


def writer(ingest_stack, **kwargs):
    client = boto3.client(
        "sagemaker-featurestore-runtime", config=client_config(pool_size=4, max_attempts=1)
    )
    kwargs.setdefault("linger_ms", 20)
    return StoreWriter(
        client,
        ingest_stack.orders_group,
        record_identifier=ORDERS.record_identifier,
        executor=ThreadPoolExecutor(4),
        concurrency=4,
        **kwargs,
    )


def record(customer, event_time=T1, **extra):
    values = {"customer_id": customer, "order_id": f"O-{customer}", "event_time": event_time}
    values.update(extra)
    return [{"FeatureName": k, "ValueAsString": v} for k, v in values.items()]


def write_all(w, records):
    outcomes = w.write_all(enumerate(records))
    return {records[n][0]["ValueAsString"]: outcome for n, outcome in outcomes.items()}


@pytest.mark.parametrize(
    ("faults", "outcome"),
    [
        (
            FaultConfig(throttle_rate=1.0, operations=frozenset({"BatchWriteRecord"})),
            TransientStoreError,
        ),
        (
            FaultConfig(error_rate=1.0, operations=frozenset({"BatchWriteRecord"})),
            TransientStoreError,
        ),
        (
            FaultConfig(
                error_rate=1.0,
                error_code="AccessForbidden",
                error_status=403,
                operations=frozenset({"BatchWriteRecord"}),
            ),
            StoreRejected,
        ),
    ],
    ids=["throttled", "5xx", "forbidden"],
)
def test_call_faults_classified(ingest_stack, featurestore_server, faults, outcome):
    featurestore_server.faults = faults
    outcomes = write_all(writer(ingest_stack), [record(f"C{i}") for i in range(10)])
    assert [type(o) for o in outcomes.values()] == [outcome] * 10


def test_a_rejected_entry_does_not_fail_its_neighbours(ingest_stack):
    """An entry the store refuses (unknown feature) fails alone; the rest of the call lands."""
    records = [record(f"C{i}") for i in range(5)] + [record("BAD", no_such_feature="x")]
    outcomes = write_all(writer(ingest_stack, batch_size=6, linger_ms=5_000), records)
    assert type(outcomes["BAD"]) is StoreRejected
    assert all(isinstance(outcomes[f"C{i}"], float) for i in range(5))
    assert all(ingest_stack.online(ORDERS, f"C{i}") for i in range(5))
