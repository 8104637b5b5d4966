"""Drift: PSI against hand-computed values, and the planted shift of ``raw.generate
--drifted-copy`` detected, while an unshifted split of the same data is stable."""

import math
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from featurestream.contract.catalog import CUSTOMER_ORDER_STATS, CUSTOMERS, ORDERS
from featurestream.contract.params import load_params
from featurestream.contract.transforms import features_for
from monitoring.drift import Thresholds, compute_drift, psi
from producers.sources import RowError, read_customer_events, read_order_events
from raw.generate import generate

RAW = Path(__file__).resolve().parents[3] / "raw"


def test_psi_matches_the_formula_by_hand():
    base = np.array([0.5, 0.5])
    cur = np.array([0.8, 0.2])
    by_hand = (0.8 - 0.5) * math.log(0.8 / 0.5) + (0.2 - 0.5) * math.log(0.2 / 0.5)
    assert psi(base, cur) == pytest.approx(by_hand)  # 0.4159
    assert psi(base, base) == 0.0


@pytest.mark.parametrize(
    ("value", "status"),
    [(0.0, "stable"), (0.099, "stable"), (0.1, "watch"), (0.25, "watch"), (0.2501, "drift")],
)
def test_default_thresholds_follow_common_practice(value, status):
    assert Thresholds().status(value) == status


def test_thresholds_are_configurable_and_checked():
    assert Thresholds(watch=0.05, drift=0.08).status(0.09) == "drift"
    with pytest.raises(ValueError):
        Thresholds(watch=0.3, drift=0.2)


def offline_rows(folder: Path, group, keep):
    """The rows a live stream would write for the group: features as of each event's time."""
    params = load_params()
    reader = read_customer_events if group is CUSTOMERS else read_order_events
    rows = []
    for row in reader(folder / f"{group.name}.csv"):
        assert not isinstance(row, RowError)
        event = row.event
        if keep(int(event.customer_id[1:])):
            rows.append(features_for(event, params=params, as_of=event.event_time)[1])
    return pa.Table.from_pylist(rows)


@pytest.fixture(scope="module")
def drifted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("drifted")
    generate(folder, drifted=True)
    return folder


def odd(n):
    return n % 2 == 1


def even(n):
    return n % 2 == 0


@pytest.mark.parametrize("group", [ORDERS, CUSTOMERS], ids=lambda g: g.name)
def test_an_unshifted_split_of_the_data_is_stable(group):
    report = compute_drift(group, offline_rows(RAW, group, odd), offline_rows(RAW, group, even))
    assert report.status == "stable", [(f.feature, f.psi) for f in report.features]
    assert all(f.psi < 0.1 for f in report.features)


def test_the_planted_shift_is_detected_where_it_was_planted(drifted):
    orders = compute_drift(
        ORDERS, offline_rows(RAW, ORDERS, odd), offline_rows(drifted, ORDERS, even)
    )
    by_name = {f.feature: f for f in orders.features}
    assert orders.status == "drift"
    assert by_name["purchase_amount"].status == "drift"
    assert by_name["purchase_amount"].p_value < 1e-6  # KS agrees
    assert by_name["purchase_amount"].current.mean > by_name["purchase_amount"].baseline.mean
    assert by_name["is_reordered"].status == "stable"  # labels were not touched
    customers = compute_drift(
        CUSTOMERS, offline_rows(RAW, CUSTOMERS, odd), offline_rows(drifted, CUSTOMERS, even)
    )
    shifted = {f.feature for f in customers.features if f.status == "drift"}
    assert "age_18-29" in shifted  # 15 years older: the youngest bin empties
    by_name = {f.feature: f for f in customers.features}
    assert by_name["age_70-plus"].status in {"watch", "drift"}  # 29% -> 49% of customers
    assert by_name["sex"].status == by_name["is_married"].status == "stable"
    chi = by_name["age_70-plus"]
    assert chi.test == "chi-square" and chi.p_value < 1e-6


def test_null_rates_means_and_stds_of_both_windows():
    base = pa.table({"purchase_amount": [0.1, 0.2, None, 0.3], "is_reordered": [0, 1, 1, 0]})
    cur = pa.table({"purchase_amount": [0.1, 0.3], "is_reordered": [None, 1]})
    report = compute_drift(ORDERS, base, cur)
    amount = {f.feature: f for f in report.features}["purchase_amount"]
    assert amount.baseline.null_rate == 0.25 and amount.current.null_rate == 0.0
    assert amount.baseline.mean == pytest.approx(0.2)
    assert amount.baseline.std == pytest.approx(0.1)  # sample std of 0.1, 0.2, 0.3
    flag = {f.feature: f for f in report.features}["is_reordered"]
    assert flag.current.null_rate == 0.5


def test_a_feature_missing_from_one_window_is_drift_and_absent_from_both_is_skipped():
    base = pa.table({"purchase_amount": [0.1, 0.2], "is_reordered": [0, 1]})
    cur = pa.table({"purchase_amount": [None, None], "is_reordered": [0, 1]})
    report = compute_drift(ORDERS, base, cur)
    names = [f.feature for f in report.features]
    assert names == ["purchase_amount", "is_reordered"]  # the recency column is in neither
    amount = report.features[0]
    assert (amount.status, amount.psi, amount.current.null_rate) == ("drift", None, 1.0)


def test_continuous_bins_are_the_baselines_deciles_whatever_the_current_window():
    base = pa.table({"purchase_amount": [float(v) for v in range(1, 101)]})  # 1..100
    cur = pa.table({"purchase_amount": [500.0] * 10})
    amount = compute_drift(ORDERS, base, cur).features[0]
    # linear-interpolated deciles of 1..100: 1 + q * 99
    assert amount.edges == pytest.approx([1 + q / 10 * 99 for q in range(1, 10)])
    assert amount.baseline.shares == pytest.approx([0.1] * 10)
    assert amount.current.shares == [0.0] * 9 + [1.0]  # all above the last edge
    assert amount.status == "drift"


def test_running_totals_are_not_compared_and_the_stats_averages_are():
    rng = np.random.default_rng(7)
    rows = pa.table(
        {
            "total_orders": rng.integers(1, 30, 500),
            "total_purchase_amount": rng.uniform(0, 3000, 500),
            "avg_purchase_amount": rng.uniform(0, 100, 500),
            "avg_purchase_amount_scaled": rng.uniform(0, 1, 500),
            "reorder_rate": rng.uniform(0, 1, 500),
        }
    )
    report = compute_drift(CUSTOMER_ORDER_STATS, rows, rows)
    assert [f.feature for f in report.features] == [
        "avg_purchase_amount",
        "avg_purchase_amount_scaled",
        "reorder_rate",
    ]
