"""The customer-order-stats transform: worked examples and order-independence properties.

Expected values are computed by hand or with ``fractions.Fraction`` (exact rationals), never
with the module under test.
"""

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from featurestream.contract.aggregates import (
    Contribution,
    OrderStats,
    amount_decimal,
    contribution_of,
    fold,
    stats_features,
)
from featurestream.contract.catalog import CUSTOMER_ORDER_STATS
from featurestream.contract.events import OrderEvent
from featurestream.contract.params import FittedParams, MinMax, content_version
from tests.unit.library.test_events import order

AS_OF = datetime(2022, 1, 1, tzinfo=UTC)
SCALERS = {
    "n_days_active": MinMax(100.0, 1100.0),
    "purchase_amount": MinMax(1.0, 101.0),
    "n_days_since_last_purchase": MinMax(0.0, 400.0),
}
PARAMS = FittedParams(content_version(AS_OF, SCALERS), AS_OF, SCALERS, {})
T0 = datetime(2021, 3, 1, 12, 0, tzinfo=UTC)


def contribution(
    order_id: str, amount: str, reordered: bool, day: int, customer: str = "C1"
) -> Contribution:
    return Contribution(order_id, customer, Decimal(amount), reordered, T0 + timedelta(days=day))


def test_three_orders_worked_by_hand():
    stats = fold(
        None,
        [
            contribution("O1", "10.10", False, 5),
            contribution("O2", "20.20", True, 1),
            contribution("O3", "0.01", True, 9),
        ],
    )
    assert stats is not None
    features = stats_features(stats, event_time=AS_OF, params=PARAMS)
    assert list(features) == list(CUSTOMER_ORDER_STATS.feature_names)
    assert features["total_orders"] == 3
    assert features["total_purchase_amount"] == 30.31
    assert features["avg_purchase_amount"] == pytest.approx(30.31 / 3, abs=1e-12)
    assert features["avg_purchase_amount_scaled"] == pytest.approx((30.31 / 3 - 1) / 100)
    assert features["reorder_rate"] == pytest.approx(2 / 3, abs=1e-15)
    assert features["first_purchased_on"] == "2021-03-02T12:00:00.000Z"
    assert features["last_purchased_on"] == "2021-03-10T12:00:00.000Z"
    assert features["event_time"] == "2022-01-01T00:00:00.000Z"
    assert features["transform_version"] == PARAMS.version


def test_amounts_are_summed_as_the_decimals_the_events_wrote():
    # 0.1 + 0.2 in binary floating point is 0.30000000000000004; the aggregate keeps 0.3
    assert amount_decimal(0.1) + amount_decimal(0.2) == Decimal("0.3")
    event = OrderEvent.model_validate(order(data={"purchase_amount": 40.48}))
    assert contribution_of(event).amount == Decimal("40.48")


def test_an_order_of_another_customer_is_refused():
    stats = OrderStats.of(contribution("O1", "1", False, 0, customer="C1"))
    with pytest.raises(ValueError, match="own customer"):
        stats.add(contribution("O2", "1", False, 0, customer="C2"))


amounts = st.decimals(
    min_value=Decimal("0.01"), max_value=Decimal("1000000"), places=2, allow_nan=False
)
orders = st.lists(
    st.tuples(amounts, st.booleans(), st.integers(min_value=0, max_value=3650)),
    min_size=1,
    max_size=60,
)


@settings(max_examples=200, deadline=None)
@given(orders, st.randoms(use_true_random=False))
def test_any_arrival_order_gives_the_same_exact_aggregate(rows, rng):
    contributions = [
        contribution(f"O{i}", str(amount), reordered, day)
        for i, (amount, reordered, day) in enumerate(rows)
    ]
    shuffled = list(contributions)
    rng.shuffle(shuffled)
    first, second = fold(None, contributions), fold(None, shuffled)
    assert first == second
    assert first is not None
    # the oracle: exact rationals over the rows
    total = sum((Fraction(amount) for amount, _, _ in rows), Fraction(0))
    assert first.total_orders == len(rows)
    assert Fraction(first.total_purchase_amount) == total
    assert first.avg_purchase_amount == pytest.approx(float(total / len(rows)), rel=1e-15)
    assert first.reorder_rate == sum(r for _, r, _ in rows) / len(rows)
    days = [day for _, _, day in rows]
    assert first.first_purchased_on == T0 + timedelta(days=min(days))
    assert first.last_purchased_on == T0 + timedelta(days=max(days))


@settings(max_examples=100, deadline=None)
@given(orders, st.integers(min_value=0, max_value=59))
def test_folding_in_two_parts_equals_folding_at_once(rows, cut):
    """What the stream does across invocations: state so far, then the next batch."""
    contributions = [contribution(f"O{i}", str(a), r, d) for i, (a, r, d) in enumerate(rows)]
    cut = min(cut, len(contributions))
    assert fold(fold(None, contributions[:cut]), contributions[cut:]) == fold(None, contributions)


def test_a_hundred_thousand_cent_amounts_stay_exact():
    rng = random.Random(7)
    cents = [rng.randint(1, 10_000_000) for _ in range(100_000)]
    stats = fold(
        None,
        (Contribution(f"O{i}", "C1", Decimal(c) / 100, False, T0) for i, c in enumerate(cents)),
    )
    assert stats is not None
    assert stats.total_purchase_amount == Decimal(sum(cents)) / 100
