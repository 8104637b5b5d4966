"""The order handler keeps customer-order-stats exact: the Feature Store emulator, moto's
DynamoDB (server mode) for the state, moto's SQS for the quarantine.

Expected aggregates are computed here from the events sent, by hand-rolled arithmetic on the
events' amounts (``Fraction`` of their decimal text), never by the library.
"""

import json
from fractions import Fraction
from typing import Any

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from devstack.standins.featurestore.config import FaultConfig
from featurestream.contract.catalog import CUSTOMER_ORDER_STATS, ORDERS
from featurestream.contract.timeutil import parse_timestamp
from handlers import order_features
from tests.fixtures.kinesis_events import batch, order_event


def expected(events: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per customer, the tutorial's aggregates over the distinct orders."""
    by_order = {e["data"]["order_id"]: e["data"] for e in events}
    per_customer: dict[str, list[dict[str, Any]]] = {}
    for data in by_order.values():
        per_customer.setdefault(data["customer_id"], []).append(data)
    result = {}
    for customer, orders in per_customer.items():
        total = sum((Fraction(str(o["purchase_amount"])) for o in orders), Fraction(0))
        times = sorted(o["purchased_on"] for o in orders)
        result[customer] = {
            "total_orders": len(orders),
            "total_purchase_amount": total,
            "avg_purchase_amount": total / len(orders),
            "reorder_rate": Fraction(sum(o["is_reordered"] for o in orders), len(orders)),
            "first_purchased_on": times[0],
            "last_purchased_on": times[-1],
        }
    return result


def assert_exact(stack: Any, events: list[dict[str, Any]]) -> None:
    for customer, want in expected(events).items():
        got = stack.online(CUSTOMER_ORDER_STATS, customer)
        assert got is not None, customer
        assert int(got["total_orders"]) == want["total_orders"]
        assert float(got["total_purchase_amount"]) == pytest.approx(
            float(want["total_purchase_amount"]), abs=1e-9
        )
        assert float(got["avg_purchase_amount"]) == pytest.approx(
            float(want["avg_purchase_amount"]), abs=1e-9
        )
        assert float(got["reorder_rate"]) == pytest.approx(float(want["reorder_rate"]), abs=1e-9)
        assert parse_timestamp(got["first_purchased_on"]) == parse_timestamp(
            want["first_purchased_on"]
        )
        assert parse_timestamp(got["last_purchased_on"]) == parse_timestamp(
            want["last_purchased_on"]
        )


def day(n: int) -> str:
    return f"2021-06-{n:02d}T10:00:00.000Z"


def test_orders_and_their_aggregates_land_in_one_invocation(ingest_stack):
    events = [
        order_event(1, "C1", day(3), amount=10.1, reordered=False),
        order_event(2, "C1", day(1), amount=20.2, reordered=True),
        order_event(3, "C2", day(2), amount=0.07),
        order_event(4, "C1", day(5), amount=0.01, reordered=True),
    ]
    assert ingest_stack.invoke(order_features, batch(events)) == {"batchItemFailures": []}
    assert ingest_stack.online(ORDERS, "C1")["order_id"] == "O4"
    stats = ingest_stack.online(CUSTOMER_ORDER_STATS, "C1")
    assert stats["total_orders"] == "3"
    assert stats["total_purchase_amount"] == "30.31"
    assert stats["reorder_rate"] == repr(2 / 3)
    assert stats["first_purchased_on"] == day(1)
    assert stats["last_purchased_on"] == day(5)
    assert_exact(ingest_stack, events)


def test_redelivered_and_duplicated_orders_count_once(ingest_stack):
    events = [
        order_event(i, f"C{1 + i % 3}", day(1 + i % 20), amount=1.5 * i) for i in range(1, 31)
    ]
    assert ingest_stack.invoke(order_features, batch(events)) == {"batchItemFailures": []}
    first = ingest_stack.online(CUSTOMER_ORDER_STATS, "C1")
    # Kinesis redelivers the batch; a producer resent some; an app published one twice
    again = events[5:] + events[:5] + [events[7], events[7]]
    assert ingest_stack.invoke(order_features, batch(again, first=100)) == {"batchItemFailures": []}
    assert_exact(ingest_stack, events)
    rewritten = ingest_stack.online(CUSTOMER_ORDER_STATS, "C1")
    assert rewritten == first  # nothing new: the same record, the same event time


def test_a_late_order_still_updates_the_online_aggregate(ingest_stack):
    """The newest-event-time rule would drop an aggregate dated by its (older) order."""
    newer = order_event(1, "C7", day(20), amount=5.0)
    older = order_event(2, "C7", day(2), amount=7.0)
    ingest_stack.invoke(order_features, batch([newer]))
    before = ingest_stack.online(CUSTOMER_ORDER_STATS, "C7")
    ingest_stack.invoke(order_features, batch([older], first=10))
    after = ingest_stack.online(CUSTOMER_ORDER_STATS, "C7")
    assert after["total_orders"] == "2"
    assert after["first_purchased_on"] == day(2)
    assert parse_timestamp(after["event_time"]) > parse_timestamp(before["event_time"])
    # the orders group keeps the newer order (its event time rule), as before this issue
    assert ingest_stack.online(ORDERS, "C7")["order_id"] == "O1"


def test_more_orders_of_one_customer_than_a_transaction_holds(ingest_stack):
    events = [order_event(i, "C9", day(1 + i % 28), amount=0.01 * i) for i in range(1, 251)]
    assert ingest_stack.invoke(order_features, batch(events)) == {"batchItemFailures": []}
    assert_exact(ingest_stack, events)
    state = ingest_stack.state_item("customer#C9")
    assert state is not None and state["total_orders"]["N"] == "250"
    assert int(state["version"]["N"]) == 2  # three steps of at most 99 orders


def test_store_outage_fails_the_records_and_redelivery_counts_them_once(
    ingest_stack, featurestore_server
):
    events = [order_event(i, f"C{i}", day(1), amount=2.0 * i) for i in range(1, 6)]
    ingest_stack.invoke(order_features, batch([events[0]]))  # C1 exists before the outage
    featurestore_server.faults = FaultConfig(error_rate=1.0, error_code="ServiceUnavailable")
    with pytest.raises(BatchProcessingError):  # every record failed: Lambda retries the batch
        ingest_stack.invoke(order_features, batch(events, first=10))
    featurestore_server.faults = FaultConfig()
    assert ingest_stack.invoke(order_features, batch(events, first=10)) == {"batchItemFailures": []}
    assert_exact(ingest_stack, events)
    assert ingest_stack.quarantined() == []


def test_state_committed_but_aggregate_not_written_is_written_on_redelivery(ingest_stack):
    """The invocation counts the orders, then its aggregate write fails (here: the group is
    missing): the records fail, and redelivery writes the aggregate without counting again."""
    events = [order_event(i, f"C{1 + i % 2}", day(1 + i), amount=3.25 * i) for i in range(1, 7)]
    with pytest.raises(BatchProcessingError):
        ingest_stack.invoke(order_features, batch(events), STATS_FEATURE_GROUP_NAME="no-such-group")
    assert ingest_stack.state_item("customer#C1")["total_orders"]["N"] == "3"
    ingest_stack.monkeypatch.setenv("STATS_FEATURE_GROUP_NAME", ingest_stack.stats_group)
    assert ingest_stack.invoke(order_features, batch(events)) == {"batchItemFailures": []}
    assert_exact(ingest_stack, events)


def test_dedupe_records_carry_the_ttl_bound(ingest_stack):
    import time

    before = int(time.time())
    ingest_stack.invoke(
        order_features,
        batch([order_event(1, "C1", day(1))]),
        STREAM_RETENTION_HOURS="24",
        PRODUCER_RESEND_WINDOW_HOURS="2",
    )
    after = int(time.time())
    item = ingest_stack.state_item("order#O1")
    assert item is not None and item["customer_id"]["S"] == "C1"
    margin = 3600
    low, high = before + 26 * 3600 + margin, after + 26 * 3600 + margin
    assert low <= int(item["expires_at"]["N"]) <= high
    ttl = ingest_stack.dynamodb.describe_time_to_live(TableName=ingest_stack.state_table)
    assert ttl["TimeToLiveDescription"]["AttributeName"] == "expires_at"
    assert ttl["TimeToLiveDescription"]["TimeToLiveStatus"] == "ENABLED"


def test_orders_whose_write_failed_stay_uncounted_though_their_state_was_read_early(
    ingest_stack, featurestore_server, monkeypatch
):
    """The state of every valid order is read while the orders are being written; an order
    whose write then fails is not counted (its redelivery will be), and nothing else is."""
    from featurestream.ingest.aggregate_state import AggregateState

    read_early: list[set[str]] = []
    prefetch = AggregateState.prefetch

    def spy(state, contributions):
        contributions = list(contributions)
        read_early.append({c.order_id for c in contributions})
        return prefetch(state, contributions)

    monkeypatch.setattr(AggregateState, "prefetch", spy)
    events = [order_event(i, f"C{1 + i % 2}", day(i), amount=1.5 * i) for i in range(1, 7)]
    ingest_stack.invoke(order_features, batch(events[:1]))  # C2 holds O1 before the outage
    featurestore_server.faults = FaultConfig(error_rate=1.0, error_code="ServiceUnavailable")
    with pytest.raises(BatchProcessingError):
        ingest_stack.invoke(order_features, batch(events[1:], first=10))
    assert read_early[-1] == {f"O{i}" for i in range(2, 7)}  # their state was read
    assert ingest_stack.state_item("customer#C2")["total_orders"]["N"] == "1"
    assert ingest_stack.state_item("customer#C1") is None
    assert all(ingest_stack.state_item(f"order#O{i}") is None for i in range(2, 7))
    featurestore_server.faults = FaultConfig()
    assert ingest_stack.invoke(order_features, batch(events, first=20)) == {"batchItemFailures": []}
    assert_exact(ingest_stack, events)


def test_an_early_read_is_only_a_hint_the_conditions_decide(ingest_stack):
    """A first read of a superset of the orders, made before another writer counted one of
    the customer's orders: only the orders contributed count, each once."""
    from concurrent.futures import ThreadPoolExecutor
    from decimal import Decimal

    from featurestream.contract.aggregates import Contribution
    from featurestream.ingest.aggregate_state import AggregateState

    def order(n: int, customer: str) -> Contribution:
        return Contribution(
            f"O{n}", customer, Decimal(f"{n}.25"), n % 2 == 0, parse_timestamp(day(n))
        )

    with ThreadPoolExecutor(4) as pool:
        state = AggregateState(
            ingest_stack.dynamodb,
            ingest_stack.state_table,
            executor=pool,
            dedupe_ttl_seconds=3600,
            clock=lambda: 1.7e9,
        )
        early = state.prefetch([order(1, "C1"), order(2, "C1"), order(3, "C2")])
        state.contribute([order(4, "C1")])  # another invocation, after the early read
        outcomes = state.contribute([order(1, "C1"), order(3, "C2"), order(1, "C1")], early)
    c1, c2 = outcomes["C1"], outcomes["C2"]
    assert not isinstance(c1, BaseException) and not isinstance(c2, BaseException)
    assert (c1.stats.total_orders, c1.stats.total_purchase_amount) == (2, Decimal("5.50"))
    assert (c2.stats.total_orders, c2.stats.total_purchase_amount) == (1, Decimal("3.25"))
    assert ingest_stack.state_item("order#O2") is None  # read early, never contributed
    assert ingest_stack.state_item("customer#C1")["total_orders"]["N"] == "2"


def emf_documents(out: str, group: str) -> list[dict[str, Any]]:
    """The EMF documents printed for ``group`` (one JSON object per line)."""
    docs = [json.loads(line) for line in out.splitlines() if '"_aws"' in line]
    return [d for d in docs if d.get("FeatureGroup") == group]


def test_the_stats_group_is_monitored_like_the_stream_groups(ingest_stack, capsys):
    # far above the fitted amount range: the aggregate's scaled average is stale too
    events = [
        order_event(1, "C1", day(3), amount=10.1),
        order_event(2, "C1", day(4), amount=20.2),
        order_event(3, "C2", day(2), amount=50000.0),
    ]
    capsys.readouterr()
    assert ingest_stack.invoke(order_features, batch(events)) == {"batchItemFailures": []}
    out = capsys.readouterr().out
    docs = emf_documents(out, CUSTOMER_ORDER_STATS.name)
    group_doc = next(d for d in docs if "PipelineFreshness" in d)
    # one freshness sample per order counted: its Kinesis arrival (2 s ago) to the aggregate
    assert len(group_doc["PipelineFreshness"]) == 3
    assert all(2.0 <= s < 60.0 for s in group_doc["PipelineFreshness"])
    assert len(group_doc["EventFreshness"]) == 3
    # one check per aggregate written: C2's scaled average is outside the range, C1's is not
    assert group_doc["ScaledValueViolations"] == [1.0]
    violations = {d["Feature"]: d["FeatureViolations"] for d in docs if "FeatureViolations" in d}
    assert violations == {"avg_purchase_amount_scaled": [1.0]}
    assert "50000" not in out
