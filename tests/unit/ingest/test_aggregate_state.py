"""The aggregate state's rules that need no DynamoDB: the dedupe lifetime bound, the
aggregate's event time, the item round trip and the settings.

The DynamoDB behaviour (idempotent contribution, transactions, failures) is tested against
moto's server in tests/integration/ingest/test_order_stats.py and test_state_failures.py.
"""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devstack.stack.template import Template
from featurestream.contract.aggregates import OrderStats
from featurestream.ingest.aggregate_state import (
    Aggregate,
    aggregate_of,
    dedupe_expiry,
    dedupe_ttl_seconds,
    event_time_of,
    next_event_time,
    state_item,
)
from featurestream.ingest.settings import ConfigError, Settings

TEMPLATE = Template.load(Path(__file__).resolve().parents[3] / "template.yaml")
HOUR = 3600
BASE = {"FEATURE_GROUP_NAME": "g", "QUARANTINE_QUEUE_URL": "q"}


@settings(max_examples=300, deadline=None)
@given(
    retention_hours=st.integers(min_value=24, max_value=8760),
    window_hours=st.integers(min_value=1, max_value=8760),
    published=st.floats(min_value=1.6e9, max_value=2e9),
    copies=st.lists(
        st.tuples(st.floats(0, 1), st.floats(0, 1)),  # (resend delay, time in stream) shares
        min_size=1,
        max_size=8,
    ),
)
def test_no_copy_of_an_order_arrives_after_its_dedupe_record_expires(
    retention_hours, window_hours, published, copies
):
    """Every copy is published within the resend window of the first and read within the
    stream's retention of its own publication; whichever copy is counted first, the record
    outlives every copy."""
    window, retention = window_hours * HOUR, retention_hours * HOUR
    arrivals = [published + resend * window + in_stream * retention for resend, in_stream in copies]
    counted_at = min(arrivals)  # the first copy processed is the one that counts
    ttl = dedupe_ttl_seconds(retention_hours, window_hours)
    expires_at = dedupe_expiry(counted_at, ttl)
    assert all(arrival < expires_at for arrival in arrivals)


def test_the_ttl_is_retention_plus_resend_window_plus_an_hour():
    assert dedupe_ttl_seconds(168, 24) == (168 + 24 + 1) * HOUR
    assert dedupe_expiry(1_700_000_000.9, 100) == 1_700_000_100


def test_the_template_feeds_the_bound_from_the_streams_own_retention():
    """The function's STREAM_RETENTION_HOURS is the parameter both streams are kept for."""
    env = TEMPLATE.function("OrderFeaturesFunction").properties["Environment"]["Variables"]
    assert env["STREAM_RETENTION_HOURS"] == {"Ref": "StreamRetentionHours"}
    assert env["PRODUCER_RESEND_WINDOW_HOURS"] == {"Ref": "ProducerResendWindowHours"}
    for stream in ("OrderEventsStream", "CustomerEventsStream"):
        retention = TEMPLATE.resource(stream)["Properties"]["RetentionPeriodHours"]
        assert retention == {"Ref": "StreamRetentionHours"}
    table = TEMPLATE.resource("AggregateStateTable")["Properties"]
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}


def test_the_state_table_is_on_demand_encrypted_recoverable_and_scoped_to_its_function():
    table = TEMPLATE.resource("AggregateStateTable")["Properties"]
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["SSESpecification"]["SSEEnabled"] is True
    assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    role = TEMPLATE.resource("OrderFeaturesRole")["Properties"]
    statements = [s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]]
    dynamodb = [s for s in statements if any(a.startswith("dynamodb:") for a in s["Action"])]
    (statement,) = dynamodb
    assert statement["Resource"] == {"Fn::GetAtt": ["AggregateStateTable", "Arn"]}
    assert sorted(statement["Action"]) == [
        "dynamodb:BatchGetItem",
        "dynamodb:ConditionCheckItem",
        "dynamodb:PutItem",
    ]
    for other in TEMPLATE.resources_of_type("AWS::IAM::Role"):
        if other == "OrderFeaturesRole":
            continue
        text = str(TEMPLATE.resource(other))
        assert "dynamodb:" not in text, other


@given(st.lists(st.integers(min_value=0, max_value=2**41), min_size=1, max_size=50))
def test_every_new_aggregate_is_dated_after_the_previous_one(clock_readings):
    """Whatever the clock does (skew between containers, a step back), each aggregate's
    event time is at least 1 ms after the one before: the store's newest-wins rule keeps it."""
    previous = None
    for now in clock_readings:
        current = next_event_time(previous, now)
        if previous is not None:
            assert current >= previous + 1
        assert current >= now
        previous = current


def test_event_time_milliseconds_are_exact():
    assert event_time_of(1_700_000_000_001) == datetime(2023, 11, 14, 22, 13, 20, 1000, tzinfo=UTC)


def test_state_items_round_trip():
    t = datetime(2021, 3, 4, 5, 6, 7, 123456, tzinfo=UTC)
    aggregate = Aggregate(
        OrderStats("C1", 3, Decimal("30.31"), 2, t, t + timedelta(days=3)),
        event_time_ms=1_700_000_000_001,
        version=4,
    )
    item = state_item(aggregate)
    assert item["pk"] == {"S": "customer#C1"}
    assert item["total_purchase_amount"] == {"N": "30.31"}
    assert aggregate_of(item) == aggregate


def test_settings_keep_aggregates_only_with_both_names():
    assert not Settings.from_env(BASE).aggregates
    both = Settings.from_env(
        {**BASE, "STATS_FEATURE_GROUP_NAME": "s", "AGGREGATE_STATE_TABLE": "t"}
    )
    assert both.aggregates and both.stream_retention_hours == 168
    for one in ({"STATS_FEATURE_GROUP_NAME": "s"}, {"AGGREGATE_STATE_TABLE": "t"}):
        with pytest.raises(ConfigError, match="go together"):
            Settings.from_env({**BASE, **one})
    with pytest.raises(ConfigError, match="PRODUCER_RESEND_WINDOW_HOURS"):
        Settings.from_env({**BASE, "PRODUCER_RESEND_WINDOW_HOURS": "-1"})
