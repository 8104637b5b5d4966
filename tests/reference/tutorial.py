"""The tutorial notebook's batch feature engineering, transcribed step by step.

An independent oracle for the parity test: pandas and scikit-learn only, sharing no code with
the library. Each line below is the notebook's line (``customers_df`` / ``orders_df`` as it
names them), in its order. Where this project departs from the notebook, the departure is a
named step of its own, stated in the README:

- ``date.today()`` in ``get_delta_days`` is the UTC date of an explicit ``as_of``, so the
  result does not depend on the day the test runs;
- age bins: :func:`readme_age_bins` replaces the notebook's :func:`tutorial_age_bins`
  ("Age bins follow their labels"); both are kept, and a test pins every edge of each;
- ``event_time`` is the business time (``active_since`` / ``purchased_on``), not the
  export timestamp the notebook writes ("Event time is business time").
"""

from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.preprocessing import MinMaxScaler

AGE_LABELS = ["18-29", "30-39", "40-49", "50-59", "60-69", "70-plus"]


def get_delta_days(datetime: pd.Timestamp, today: date) -> int:
    """The notebook's ``get_delta_days``; its ``today = date.today()`` comes in as ``today``."""
    delta = today - datetime.date()
    return delta.days


def as_of_date(as_of: datetime) -> date:
    """What stands in for ``date.today()``: the UTC date of the reference time."""
    return as_of.astimezone(UTC).date()


def tutorial_age_bins(age: pd.Series) -> pd.Series:
    """The notebook's age step, verbatim: right-closed bins, so 30 is '18-29', 91 is none."""
    return pd.cut(
        age,
        bins=[18, 30, 40, 50, 60, 70, 90],
        labels=["18-29", "30-39", "40-49", "50-59", "60-69", "70-plus"],
        include_lowest=True,
    )


def readme_age_bins(age: pd.Series) -> pd.Series:
    """The project's departure (README, "Age bins follow their labels"): left-closed bins,
    so each age lands in the bin its label names, and '70-plus' has no upper end."""
    return pd.cut(age, bins=[18, 30, 40, 50, 60, 70, np.inf], labels=AGE_LABELS, right=False)


def _iso_millis(column: pd.Series) -> pd.Series:
    return column.dt.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def customers_features(path: Path, as_of: datetime) -> pd.DataFrame:
    """The notebook's customers steps on ``path``, day counts as of ``as_of``."""
    today = as_of_date(as_of)
    customers_df = pd.read_csv(path, index_col=0)
    customers_df["active_since"] = pd.to_datetime(customers_df["active_since"])
    customers_df["n_days_active"] = customers_df["active_since"].apply(
        lambda x: get_delta_days(x, today)
    )
    customers_df["n_days_active"] = MinMaxScaler().fit_transform(customers_df[["n_days_active"]])
    customers_df["sex"] = customers_df["sex"].map({"F": 0, "M": 1})
    customers_df["is_married"] = customers_df["is_married"].astype(int)
    customers_df["age"] = readme_age_bins(customers_df["age"])  # the notebook: tutorial_age_bins
    dummies = pd.get_dummies(customers_df["age"], prefix="age").astype(int)
    customers_df = pd.concat([customers_df.drop(columns=["age"]), dummies], axis=1)
    customers_df = customers_df.drop(columns=["name", "state"])
    customers_df["event_time"] = _iso_millis(customers_df["active_since"])
    customers_df["active_since"] = _iso_millis(customers_df["active_since"])
    return customers_df.set_index("customer_id")


def orders_features(path: Path, as_of: datetime) -> pd.DataFrame:
    """The notebook's orders steps on ``path``, day counts as of ``as_of``."""
    today = as_of_date(as_of)
    orders_df = pd.read_csv(path, index_col=0)
    orders_df["purchased_on"] = pd.to_datetime(
        orders_df["purchased_on"], format="%Y-%m-%d %H:%M:%S"
    )
    orders_df["n_days_since_last_purchase"] = orders_df["purchased_on"].apply(
        lambda x: get_delta_days(x, today)
    )
    scaler = MinMaxScaler()
    orders_df["n_days_since_last_purchase"] = scaler.fit_transform(
        orders_df[["n_days_since_last_purchase"]]
    )
    orders_df["purchase_amount"] = scaler.fit_transform(orders_df[["purchase_amount"]])
    orders_df["event_time"] = _iso_millis(orders_df["purchased_on"])
    orders_df["purchased_on"] = _iso_millis(orders_df["purchased_on"])
    return orders_df.set_index("order_id")
