"""Tests for the seeded raw-data generator and the committed CSVs it produced.

The committed CSVs are what every other part of the project fits, replays and compares
against, so these tests pin them: exact reproducibility, the documented schema and ranges,
and the planted reorder signal that downstream models are supposed to learn.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

import raw.generate as gen

RAW_DIR = Path(gen.__file__).resolve().parent
CUSTOMERS_CSV = RAW_DIR / "customers.csv"
ORDERS_CSV = RAW_DIR / "orders.csv"

AGE_BIN_EDGES = (18, 29, 30, 39, 40, 49, 50, 59, 60, 69, 70, 79, 80, 89, 90)


@pytest.fixture(scope="module")
def customers() -> pd.DataFrame:
    return pd.read_csv(CUSTOMERS_CSV, index_col=0, dtype={"is_married": str})


@pytest.fixture(scope="module")
def orders() -> pd.DataFrame:
    return pd.read_csv(ORDERS_CSV, index_col=0, dtype={"purchase_amount": str})


@pytest.fixture(scope="module")
def history(customers: pd.DataFrame, orders: pd.DataFrame) -> pd.DataFrame:
    """Orders in per-customer time order with the signal's three inputs."""
    df = orders.merge(customers[["customer_id", "age", "active_since"]], on="customer_id")
    df["purchased_on"] = pd.to_datetime(df["purchased_on"], format="%Y-%m-%d %H:%M:%S")
    df["active_since"] = pd.to_datetime(df["active_since"], format="%Y-%m-%d %H:%M:%S")
    df = df.sort_values(["customer_id", "purchased_on"], kind="stable")
    prev = df.groupby("customer_id")["is_reordered"].shift(1)
    df["prev_reordered"] = prev.fillna(0).astype(int)
    df["is_first"] = prev.isna()
    tenure = df["purchased_on"] - df["active_since"]
    df["tenure_years"] = tenure.dt.total_seconds() / 86_400 / gen.DAYS_PER_YEAR
    return df


def test_generator_reproduces_committed_csvs_byte_for_byte(tmp_path: Path) -> None:
    gen.main(["--out", str(tmp_path), "--seed", str(gen.DEFAULT_SEED)])
    assert (tmp_path / "customers.csv").read_bytes() == CUSTOMERS_CSV.read_bytes()
    assert (tmp_path / "orders.csv").read_bytes() == ORDERS_CSV.read_bytes()


def test_other_seed_gives_other_data() -> None:
    a = gen.generate_customers(1)
    b = gen.generate_customers(2)
    assert [c.name for c in a[:50]] != [c.name for c in b[:50]]


def test_headers_and_line_format() -> None:
    customer_lines = CUSTOMERS_CSV.read_bytes().split(b"\n")
    order_lines = ORDERS_CSV.read_bytes().split(b"\n")
    assert (
        customer_lines[0] == b",customer_id,name,sex,state,age,is_married,active_since,event_time"
    )
    assert order_lines[0] == (
        b",order_id,customer_id,product_id,purchase_amount,is_reordered,purchased_on,event_time"
    )
    for lines in (customer_lines, order_lines):
        assert lines[-1] == b""  # trailing newline, no \r anywhere
        assert all(b"\r" not in line and b'"' not in line for line in lines)


def test_row_counts_index_and_ids(customers: pd.DataFrame, orders: pd.DataFrame) -> None:
    assert len(customers) == 10_000
    assert len(orders) == 100_000
    assert customers.index.tolist() == list(range(10_000))
    assert orders.index.tolist() == list(range(100_000))
    assert customers["customer_id"].tolist() == [f"C{i}" for i in range(1, 10_001)]
    assert orders["order_id"].tolist() == [f"O{i}" for i in range(1, 100_001)]
    assert orders["customer_id"].str.fullmatch(r"C[1-9]\d*").all()
    assert set(orders["customer_id"]) <= set(customers["customer_id"])
    product_num = orders["product_id"].str.removeprefix("P").astype(int)
    assert orders["product_id"].str.fullmatch(r"P[1-9]\d*").all()
    assert product_num.between(1, gen.N_PRODUCTS).all()


def test_customer_columns(customers: pd.DataFrame) -> None:
    assert customers["age"].between(18, 90).all()
    assert set(AGE_BIN_EDGES) <= set(customers["age"])
    assert set(customers["sex"]) == {"F", "M"}
    assert set(customers["is_married"]) == {"True", "False"}
    assert set(customers["state"]) == set(gen.US_STATES)
    assert len(gen.US_STATES) == 50
    assert "New York" in gen.US_STATES
    assert customers["name"].str.fullmatch(r"[A-Z][a-z]+ [A-Z][a-z]+").all()
    since = customers["active_since"]
    assert since.str.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}").all()
    assert since.min() >= "2016-01-01 00:00:00"
    assert since.max() <= "2019-12-31 23:59:59"


def test_order_columns(orders: pd.DataFrame) -> None:
    amount = orders["purchase_amount"]
    assert amount.str.fullmatch(r"\d{1,3}\.\d{2}").all()
    cents = (amount.astype(float) * 100).round().astype(int)
    assert cents.between(100, 10_000).all()
    assert set(orders["is_reordered"]) == {0, 1}
    assert 0.60 <= orders["is_reordered"].mean() <= 0.72
    bought = orders["purchased_on"]
    assert bought.str.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}").all()
    assert bought.min() >= "2020-01-01 00:00:00"
    assert bought.max() <= "2021-12-31 23:59:59"


def test_event_time_is_export_instant(customers: pd.DataFrame, orders: pd.DataFrame) -> None:
    for df in (customers, orders):
        stamps = df["event_time"]
        assert stamps.str.fullmatch(r"2022-01-01T00:\d{2}:\d{2}\.\d{3}Z").all()
        assert stamps.iloc[0] == "2022-01-01T00:00:00.000Z"
        assert stamps.is_monotonic_increasing


def test_purchases_never_precede_activation(history: pd.DataFrame) -> None:
    assert (history["purchased_on"] >= history["active_since"]).all()


def test_order_counts_vary(orders: pd.DataFrame) -> None:
    counts = orders["customer_id"].value_counts()
    assert counts.max() >= 30
    assert counts.min() <= 2
    assert 0 < 10_000 - len(counts) < 3_000  # some customers never ordered


def test_order_ids_are_not_in_time_order(orders: pd.DataFrame, history: pd.DataFrame) -> None:
    assert not orders["purchased_on"].is_monotonic_increasing
    # Not even per customer: consumers must sort by purchased_on themselves.
    id_num = history["order_id"].str.removeprefix("O").astype(int)
    per_customer_sorted = id_num.groupby(history["customer_id"]).apply(
        lambda s: s.is_monotonic_increasing
    )
    assert not per_customer_sorted.all()
    # Per customer, purchase times are strictly increasing, so "previous order" is defined.
    assert not history.duplicated(["customer_id", "purchased_on"]).any()


def test_previous_reorder_raises_reorder_rate(history: pd.DataFrame) -> None:
    repeat = history[~history["is_first"]]
    rate = repeat.groupby("prev_reordered")["is_reordered"].mean()
    assert rate[1] - rate[0] > 0.2


def test_tenure_and_age_raise_reorder_rate(history: pd.DataFrame) -> None:
    by_tenure = history.groupby(pd.qcut(history["tenure_years"], 4), observed=True)
    tenure_rate = by_tenure["is_reordered"].mean().to_numpy()
    assert np.all(np.diff(tenure_rate) > 0)
    assert tenure_rate[-1] - tenure_rate[0] > 0.15
    young = history.loc[history["age"] < 40, "is_reordered"].mean()
    old = history.loc[history["age"] >= 70, "is_reordered"].mean()
    assert old - young > 0.1


def test_signal_is_learnable_but_not_trivial(history: pd.DataFrame) -> None:
    features = np.column_stack(
        [
            history["tenure_years"],
            (history["age"] - 50) / 20,
            history["prev_reordered"],
        ]
    )
    label = history["is_reordered"].to_numpy()
    train = history["customer_id"].str.removeprefix("C").astype(int).to_numpy() % 5 != 0
    model = LogisticRegression().fit(features[train], label[train])
    auc = roc_auc_score(label[~train], model.predict_proba(features[~train])[:, 1])
    assert 0.65 < auc < 0.8
    # The fitted coefficients recover the documented ones.
    expected = [gen.REORDER_B1, gen.REORDER_B2, gen.REORDER_B3]
    assert model.coef_[0] == pytest.approx(expected, abs=0.1)
    assert model.intercept_[0] == pytest.approx(gen.REORDER_B0, abs=0.1)


def test_reorder_probability_formula() -> None:
    p = gen.reorder_probability(tenure_days=0.0, age=50, prev_reordered=0)
    assert p == pytest.approx(1 / (1 + np.exp(-gen.REORDER_B0)))
    assert gen.reorder_probability(730.5, 50, 0) > p
    assert gen.reorder_probability(0.0, 70, 0) > p
    assert gen.reorder_probability(0.0, 50, 1) > p
