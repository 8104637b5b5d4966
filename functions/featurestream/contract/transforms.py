"""Feature transforms, one definition for every path.

The stream Lambdas, the batch transform command, the training-set builder and the inference
handler all call these functions. Time-relative features take ``as_of`` explicitly, so the
same function gives the value at write time, at request time or at a label's time.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Final

from featurestream.contract.catalog import AGE_BINS, CUSTOMERS, ORDERS, FeatureGroupSpec
from featurestream.contract.params import FittedParams
from featurestream.contract.timeutil import days_between, format_event_time

if TYPE_CHECKING:  # the models are only annotations here: the inference Lambda, which needs
    # tenure and recency, does not import pydantic and the event models (~0.25 s cold start)
    from featurestream.contract.events import CustomerEvent, OrderEvent

FeatureValue = int | float | str
Features = dict[str, FeatureValue]

SEX_CODES: Final = {"F": 0, "M": 1}


def age_bins(age: int) -> dict[str, int]:
    """One-hot age bins; every bin is inclusive at both ends, so 30 is ``age_30-39``.

    The tutorial's ``pd.cut(age, [18, 30, ...], include_lowest=True)`` is right-inclusive and
    files 30 under ``age_18-29``; we bin by the labels instead (see the README). Ages from
    70 up, including over 90, are ``age_70-plus``. Under 18 sets no bin: the event contract
    rejects such ages before they get here.
    """
    return {
        f"age_{label}": int(low <= age and (high is None or age <= high))
        for label, low, high in AGE_BINS
    }


def tenure(active_since: datetime, as_of: datetime, params: FittedParams) -> float:
    """``n_days_active``: calendar days from registration to ``as_of`` (UTC dates), scaled."""
    return params.scaler("n_days_active").scale(days_between(active_since, as_of))


def recency(purchased_on: datetime, as_of: datetime, params: FittedParams) -> float:
    """``n_days_since_last_purchase``: calendar days from the order to ``as_of``, scaled."""
    return params.scaler("n_days_since_last_purchase").scale(days_between(purchased_on, as_of))


def customer_features(event: CustomerEvent, *, params: FittedParams, as_of: datetime) -> Features:
    """The customers feature-group record for one customer event, in catalog order."""
    data = event.data
    features: Features = {
        "customer_id": data.customer_id,
        "sex": SEX_CODES[data.sex],
        "is_married": int(data.is_married),
        **age_bins(data.age),
        "n_days_active": tenure(data.active_since, as_of, params),
        "active_since": format_event_time(data.active_since),
        "event_time": format_event_time(event.event_time),
        "transform_version": params.version,
    }
    return _in_catalog_order(CUSTOMERS, features)


def order_features(event: OrderEvent, *, params: FittedParams, as_of: datetime) -> Features:
    """The orders feature-group record (the customer's latest order), in catalog order."""
    data = event.data
    features: Features = {
        "customer_id": data.customer_id,
        "order_id": data.order_id,
        "product_id": data.product_id,
        "purchase_amount": params.scaler("purchase_amount").scale(data.purchase_amount),
        "is_reordered": int(data.is_reordered),
        "n_days_since_last_purchase": recency(data.purchased_on, as_of, params),
        "purchased_on": format_event_time(data.purchased_on),
        "event_time": format_event_time(event.event_time),
        "transform_version": params.version,
    }
    return _in_catalog_order(ORDERS, features)


def features_for(
    event: CustomerEvent | OrderEvent, *, params: FittedParams, as_of: datetime
) -> tuple[FeatureGroupSpec, Features]:
    """The feature group an event feeds and its record."""
    if event.event_type == "order.placed":  # the contract's discriminator
        return ORDERS, order_features(event, params=params, as_of=as_of)
    return CUSTOMERS, customer_features(event, params=params, as_of=as_of)


def _in_catalog_order(group: FeatureGroupSpec, features: Features) -> Features:
    names = group.feature_names
    if len(features) != len(names) or not all(name in features for name in names):
        # a catalog edit not matched here
        raise AssertionError(f"{group.name}: transform and catalog disagree on feature names")
    return {name: features[name] for name in names}


def value_as_string(value: FeatureValue) -> str:
    """The Feature Store's wire text for a value: integers plain, floats without exponent.

    ``repr`` gives the shortest text that round-trips; tiny floats would come out as
    ``1e-05``, a form the service is not documented to accept, so those are expanded.
    """
    if isinstance(value, str):  # most features are text: this runs for every one written
        return value
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, float):
        text = repr(value)
        return format(Decimal(text), "f") if "e" in text or "E" in text else text
    return str(value)


def to_record(features: Features) -> list[dict[str, str]]:
    """A PutRecord ``Record``: one ``{FeatureName, ValueAsString}`` per feature."""
    return [
        {"FeatureName": name, "ValueAsString": value_as_string(value)}
        for name, value in features.items()
    ]
