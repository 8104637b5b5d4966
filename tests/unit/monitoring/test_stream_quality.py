"""The catalog's data-quality rules and the per-batch violation counts and freshness."""

import json
from datetime import UTC, datetime
from math import inf

import pytest

from featurestream.contract.catalog import CUSTOMER_ORDER_STATS, CUSTOMERS, ORDERS
from featurestream.contract.catalog_rules import Identifier, InRange, OneHot, OneOf
from featurestream.monitoring.freshness import event_freshness, pipeline_freshness
from featurestream.monitoring.quality import QualityChecker, Violations
from featurestream.monitoring.stream_metrics import StreamMonitor

GOOD_ORDER = {
    "customer_id": "C1",
    "order_id": "O1",
    "product_id": "P1",
    "purchase_amount": 0.5,
    "is_reordered": 1,
    "n_days_since_last_purchase": 0.0,
    "purchased_on": "2021-01-01T00:00:00.000Z",
    "event_time": "2021-01-01T00:00:00.000Z",
    "transform_version": "v",
}
GOOD_CUSTOMER = {
    "customer_id": "C1",
    "sex": 0,
    "is_married": 1,
    "age_18-29": 0,
    "age_30-39": 1,
    "age_40-49": 0,
    "age_50-59": 0,
    "age_60-69": 0,
    "age_70-plus": 0,
    "n_days_active": 1.0,
    "active_since": "2020-01-01T00:00:00.000Z",
    "event_time": "2020-01-01T00:00:00.000Z",
    "transform_version": "v",
}

GOOD_STATS = {
    "customer_id": "C1",
    "total_orders": 3,
    "total_purchase_amount": 90.5,
    "avg_purchase_amount": 30.166,
    "avg_purchase_amount_scaled": 0.29,
    "reorder_rate": 1.0,
    "first_purchased_on": "2021-01-01T00:00:00.000Z",
    "last_purchased_on": "2021-02-01T00:00:00.000Z",
    "event_time": "2021-02-01T00:00:00.001Z",
    "transform_version": "v",
}


def test_the_catalog_declares_the_issues_rules_next_to_each_feature():
    assert ORDERS.feature("purchase_amount").expect == InRange(
        0.0, 1.0, scaled=True, tolerance=0.05
    )
    assert ORDERS.feature("n_days_since_last_purchase").expect == InRange(
        0.0, 1.0, scaled=True, tolerance=0.05
    )
    assert CUSTOMERS.feature("n_days_active").expect == InRange(
        0.0, 1.0, scaled=True, tolerance=0.05
    )
    assert ORDERS.feature("is_reordered").expect == OneOf((0, 1))
    assert CUSTOMERS.feature("sex").expect == OneOf((0, 1))
    bins = [f for f in CUSTOMERS.features if f.name.startswith("age_")]
    assert len(bins) == 6 and all(f.expect == OneHot("age") for f in bins)
    assert CUSTOMERS.feature("customer_id").expect == Identifier()
    assert ORDERS.feature("order_id").expect == Identifier()


def test_the_stats_group_declares_its_rules_next_to_its_features():
    stats = CUSTOMER_ORDER_STATS.feature
    assert stats("avg_purchase_amount_scaled").expect == ORDERS.feature("purchase_amount").expect
    assert stats("reorder_rate").expect == InRange(0, 1)
    assert stats("total_orders").expect == InRange(1, inf)
    assert stats("total_purchase_amount").expect == InRange(0, inf)
    assert stats("avg_purchase_amount").expect == InRange(0, inf)
    assert stats("customer_id").expect == Identifier()
    # running totals grow with a customer's history: drift does not compare them
    assert [f.name for f in CUSTOMER_ORDER_STATS.features if not f.drift_compared] == [
        "total_orders",
        "total_purchase_amount",
    ]


def check(group, record):
    violations = Violations()
    QualityChecker(group).check(record, violations)
    return violations


def test_valid_records_have_no_violation():
    assert check(ORDERS, GOOD_ORDER).per_feature == {}
    assert check(CUSTOMERS, GOOD_CUSTOMER).per_feature == {}
    assert check(CUSTOMER_ORDER_STATS, GOOD_STATS).per_feature == {}


def test_stats_violations_open_ended_ranges_included():
    bad = {
        **GOOD_STATS,
        "total_orders": 0,
        "avg_purchase_amount": -1.0,
        "avg_purchase_amount_scaled": 1.5,
        "reorder_rate": 1.01,
    }
    found = check(CUSTOMER_ORDER_STATS, bad)
    assert found.per_feature == {
        "total_orders": 1,
        "avg_purchase_amount": 1,
        "avg_purchase_amount_scaled": 1,
        "reorder_rate": 1,
    }
    assert found.scaled == 1
    huge = {**GOOD_STATS, "total_orders": 10**9, "total_purchase_amount": 1e12}
    assert check(CUSTOMER_ORDER_STATS, huge).per_feature == {}  # no upper bound on totals


def test_a_stale_scaled_value_is_counted_per_feature_and_as_scaled():
    # the issue's example: tenure scaled to 1.77 as of today
    found = check(CUSTOMERS, {**GOOD_CUSTOMER, "n_days_active": 1.77})
    assert dict(found.per_feature) == {"n_days_active": 1}
    assert found.scaled == 1
    found = check(ORDERS, {**GOOD_ORDER, "purchase_amount": -0.2, "is_reordered": 2})
    assert dict(found.per_feature) == {"purchase_amount": 1, "is_reordered": 1}
    assert found.scaled == 1


def test_the_bounds_are_inclusive_and_widened_by_the_tolerance():
    edges = {**GOOD_ORDER, "purchase_amount": -0.05, "n_days_since_last_purchase": 1.05}
    assert check(ORDERS, edges).per_feature == {}
    beyond = {**GOOD_ORDER, "purchase_amount": -0.0501, "n_days_since_last_purchase": 1.0501}
    assert check(ORDERS, beyond).scaled == 2


@pytest.mark.parametrize(
    ("bins", "blamed"),
    [
        ({"age_18-29": 1, "age_30-39": 1}, {"age_18-29", "age_30-39"}),
        ({"age_30-39": 0}, {f.name for f in CUSTOMERS.features if f.name.startswith("age_")}),
        ({"age_30-39": 2}, {"age_30-39"}),
    ],
)
def test_one_hot_bins_must_sum_to_one(bins, blamed):
    found = check(CUSTOMERS, {**GOOD_CUSTOMER, **bins})
    assert set(found.per_feature) == blamed
    assert found.scaled == 0


def test_identifiers_are_non_empty_and_unique_within_the_record():
    assert dict(check(ORDERS, {**GOOD_ORDER, "order_id": ""}).per_feature) == {"order_id": 1}
    assert dict(check(ORDERS, {**GOOD_ORDER, "product_id": "C1"}).per_feature) == {"product_id": 1}
    missing = {k: v for k, v in GOOD_ORDER.items() if k != "purchase_amount"}
    assert dict(check(ORDERS, missing).per_feature) == {"purchase_amount": 1}


def test_freshness_in_seconds_from_business_time_and_arrival():
    ack = datetime(2026, 1, 1, 0, 1, 0, tzinfo=UTC).timestamp()
    times = [datetime(2026, 1, 1, 0, 0, 0, tzinfo=UTC), datetime(2026, 1, 1, 0, 2, tzinfo=UTC)]
    assert event_freshness(times, ack) == [60.0, 0.0]
    assert pipeline_freshness([ack - 1.5, None, ack - 0.25], ack) == [1.5, 0.25]


def documents(out):
    return [json.loads(line) for line in out.splitlines() if '"_aws"' in line]


def test_the_monitor_publishes_per_group_and_logs_no_values(capsys):
    ack = datetime(2026, 1, 1, 0, 1, 0, tzinfo=UTC).timestamp()
    monitor = StreamMonitor(ORDERS)
    violated = [
        monitor.violated(GOOD_ORDER),
        monitor.violated({**GOOD_ORDER, "customer_id": "C2", "purchase_amount": 4.25}),
    ]
    assert violated == [(), ("purchase_amount",)]
    capsys.readouterr()
    monitor.measure(
        [datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, 0, 0, 30, tzinfo=UTC)],
        [ack - 2.0, ack - 1.0],
        violated,
        acknowledged_at=ack,
    )
    captured = capsys.readouterr()
    docs = documents(captured.out)
    group_doc = next(d for d in docs if "EventFreshness" in d)
    assert group_doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["FeatureGroup"]]
    assert group_doc["FeatureGroup"] == "orders"
    assert group_doc["EventFreshness"] == [60.0, 30.0]
    assert group_doc["PipelineFreshness"] == [2.0, 1.0]
    assert group_doc["ScaledValueViolations"] == [1.0]
    units = {m["Name"]: m["Unit"] for m in group_doc["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
    assert units["PipelineFreshness"] == "Seconds"
    feature_docs = [d for d in docs if "FeatureViolations" in d]
    assert [(d["Feature"], d["FeatureViolations"]) for d in feature_docs] == [
        ("purchase_amount", [1.0])
    ]
    assert feature_docs[0]["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [
        ["FeatureGroup", "Feature"]
    ]
    logged = captured.out + captured.err
    assert "4.25" not in logged and "C2" not in logged
    assert "purchase_amount" in logged  # the feature is named, its value is not
