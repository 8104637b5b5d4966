"""The tutorial's batch feature engineering, step by step in pandas + scikit-learn.

An independent oracle for the parity test: it shares no code with the library's transforms.
Two deliberate departures from the notebook, both documented in the README:
- age bins are left-closed (``right=False``) so each age lands in the bin its label names;
  the notebook's right-closed bins file 30 under ``age_18-29``;
- ``event_time`` is the business time (``active_since`` / ``purchased_on``), not the
  export timestamp column, and ``as_of`` is an explicit argument, not ``datetime.now()``.
"""

from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.preprocessing import MinMaxScaler

AGE_EDGES = [18, 30, 40, 50, 60, 70, np.inf]
AGE_LABELS = ["18-29", "30-39", "40-49", "50-59", "60-69", "70-plus"]


def _naive_utc(moment: datetime) -> pd.Timestamp:
    return pd.Timestamp(moment).tz_convert("UTC").tz_localize(None)


def _iso_millis(column: pd.Series) -> pd.Series:
    return column.dt.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def customers_features(path: Path, as_of: datetime) -> pd.DataFrame:
    customers = pd.read_csv(path, index_col=0)
    customers["active_since"] = pd.to_datetime(customers["active_since"])
    customers["n_days_active"] = (_naive_utc(as_of) - customers["active_since"]).dt.days
    customers["n_days_active"] = MinMaxScaler().fit_transform(customers[["n_days_active"]])
    customers["sex"] = customers["sex"].map({"F": 0, "M": 1})
    customers["is_married"] = customers["is_married"].astype(int)
    customers["age"] = pd.cut(customers["age"], bins=AGE_EDGES, labels=AGE_LABELS, right=False)
    dummies = pd.get_dummies(customers["age"], prefix="age").astype(int)
    customers = pd.concat([customers.drop(columns=["age", "name", "state"]), dummies], axis=1)
    customers["event_time"] = _iso_millis(customers["active_since"])
    customers["active_since"] = _iso_millis(customers["active_since"])
    return customers.set_index("customer_id")


def orders_features(path: Path, as_of: datetime) -> pd.DataFrame:
    orders = pd.read_csv(path, index_col=0)
    orders["purchased_on"] = pd.to_datetime(orders["purchased_on"], format="%Y-%m-%d %H:%M:%S")
    orders["n_days_since_last_purchase"] = (_naive_utc(as_of) - orders["purchased_on"]).dt.days
    scaler = MinMaxScaler()
    orders["n_days_since_last_purchase"] = scaler.fit_transform(
        orders[["n_days_since_last_purchase"]]
    )
    orders["purchase_amount"] = scaler.fit_transform(orders[["purchase_amount"]])
    orders["event_time"] = _iso_millis(orders["purchased_on"])
    orders["purchased_on"] = _iso_millis(orders["purchased_on"])
    return orders.set_index("order_id")
