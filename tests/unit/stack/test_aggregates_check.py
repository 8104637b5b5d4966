"""The demo's and chaos suite's aggregate oracle: a pandas group-by, compared with the
online records. Expected values here are worked by hand."""

from datetime import UTC, datetime, timedelta

import pandas as pd

from devstack.rigs.aggregates_check import compare, expected_from_orders

ORDERS = pd.DataFrame(
    {
        "order_id": ["O1", "O2", "O3", "O2"],  # O2 published twice
        "customer_id": ["C1", "C1", "C2", "C1"],
        "purchase_amount": [10.10, 20.20, 5.0, 20.20],
        "is_reordered": [0, 1, 1, 1],
        "purchased_on": [
            "2021-04-06 09:24:55",
            "2021-01-02 00:00:00",
            "2021-03-03 03:03:03",
            "2021-01-02 00:00:00",
        ],
    }
)


def online(total, amount, average, rate, first, last):
    return {
        "total_orders": str(total),
        "total_purchase_amount": repr(amount),
        "avg_purchase_amount": repr(average),
        "reorder_rate": repr(rate),
        "first_purchased_on": first,
        "last_purchased_on": last,
    }


def test_the_group_by_counts_each_order_id_once():
    expected = expected_from_orders(ORDERS)
    assert expected["C1"]["total_orders"] == 2
    assert abs(expected["C1"]["total_purchase_amount"] - 30.30) < 1e-12
    assert abs(expected["C1"]["avg_purchase_amount"] - 15.15) < 1e-12
    assert expected["C1"]["reorder_rate"] == 0.5
    assert expected["C1"]["first_purchased_on"] == datetime(2021, 1, 2, tzinfo=UTC)
    assert expected["C1"]["last_purchased_on"] == datetime(2021, 4, 6, 9, 24, 55, tzinfo=UTC)


def test_an_as_live_replay_moves_the_purchase_times_by_its_shift():
    """The demo replays as live: every event time moved by one constant, which the oracle
    applies too; counts and amounts do not move."""
    expected = expected_from_orders(ORDERS, shift=timedelta(days=2000, seconds=5))
    assert expected["C1"]["total_orders"] == 2
    assert expected["C1"]["first_purchased_on"] == datetime(2026, 6, 25, 0, 0, 5, tzinfo=UTC)
    assert expected["C1"]["last_purchased_on"] == datetime(2026, 9, 27, 9, 25, 0, tzinfo=UTC)


def test_equal_records_pass_and_each_difference_is_named():
    expected = expected_from_orders(ORDERS)
    good = {
        "C1": online(2, 30.3, 15.15, 0.5, "2021-01-02T00:00:00.000Z", "2021-04-06T09:24:55.000Z"),
        "C2": online(1, 5.0, 5.0, 1.0, "2021-03-03T03:03:03.000Z", "2021-03-03T03:03:03.000Z"),
    }
    assert compare(expected, good).exact
    counted_twice = dict(
        good,
        C1=online(
            3,
            50.5,
            50.5 / 3,
            2 / 3,
            *[good["C1"][k] for k in ("first_purchased_on", "last_purchased_on")],
        ),
    )
    verdict = compare(expected, counted_twice)
    assert not verdict.exact
    assert verdict.wrong == [
        "C1: total_orders, total_purchase_amount, avg_purchase_amount, reorder_rate"
    ]
    assert compare(expected, {"C1": good["C1"]}).missing == ["C2"]
