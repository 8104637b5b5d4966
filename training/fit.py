"""Fitting the min-max scalers with scikit-learn, as the tutorial does, into the artifact."""

from collections.abc import Sequence
from datetime import datetime

from sklearn.preprocessing import MinMaxScaler

from featurestream.contract.events import CustomerEvent, OrderEvent
from featurestream.contract.params import FittedParams, MinMax, content_version
from featurestream.contract.timeutil import days_between
from training.history import History


def _fit(values: Sequence[float]) -> MinMax:
    if not values:
        raise ValueError("cannot fit a scaler on no rows")
    scaler = MinMaxScaler().fit([[value] for value in values])
    return MinMax(float(scaler.data_min_[0]), float(scaler.data_max_[0]))


def fit_customer_scalers(events: Sequence[CustomerEvent], as_of: datetime) -> dict[str, MinMax]:
    """The customers group's scaler: tenure in calendar days as of ``as_of``."""
    return {"n_days_active": _fit([days_between(e.data.active_since, as_of) for e in events])}


def fit_order_scalers(events: Sequence[OrderEvent], as_of: datetime) -> dict[str, MinMax]:
    """The orders group's scalers: amount, and recency in calendar days as of ``as_of``."""
    return {
        "purchase_amount": _fit([e.data.purchase_amount for e in events]),
        "n_days_since_last_purchase": _fit(
            [days_between(e.data.purchased_on, as_of) for e in events]
        ),
    }


def build_params(
    scalers: dict[str, MinMax], *, as_of: datetime, fitted_on: dict[str, object]
) -> FittedParams:
    return FittedParams(content_version(as_of, scalers), as_of, scalers, fitted_on)


def fit_params(history: History, *, as_of: datetime, fitted_on: dict[str, object]) -> FittedParams:
    """Fit every scaler on the whole history, with day counts taken as of ``as_of``."""
    scalers = {
        **fit_customer_scalers(history.customers, as_of),
        **fit_order_scalers(history.orders, as_of),
    }
    return build_params(scalers, as_of=as_of, fitted_on=fitted_on)
