"""Features as of the request: stored values typed, time-relative ones recomputed, ages.

Tenure (``n_days_active``) and recency (``n_days_since_last_purchase``) are stale the day
after they are written, so they are recomputed from the stored raw timestamps as of the
request with the library's own :func:`tenure`/:func:`recency` and the fitted params — the
same functions the training-set builder calls as of each label's time.
Each group's record age is the request time minus its event time; older than that group's
max age is flagged stale (served, but flagged: the caller decides). Groups have their own
limits because their event times mean different things: a profile's is its last profile
event, legitimately years old; the latest order's is how recent the customer's activity is.
A record dated after the request is always stale, and its times count as the request's, so
tenure and recency are never negative.
"""

import math
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any, Final, NamedTuple

from featurestream.contract.catalog import CUSTOMER_ORDER_STATS, CUSTOMERS, ORDERS
from featurestream.contract.params import FittedParams
from featurestream.contract.timeutil import parse_timestamp
from featurestream.contract.transforms import FeatureValue, recency, tenure

TimeFeature = Callable[[datetime, datetime, FittedParams], float]
_PARSERS: Final[dict[str, Callable[[str], FeatureValue]]] = {"Integral": int, "Fractional": float}

SPECS: Final = {
    "customers": CUSTOMERS,
    "orders": ORDERS,
    "customer-order-stats": CUSTOMER_ORDER_STATS,
}
_NUMERIC: Final = {
    group: {f.name: f.type for f in spec.features if f.type in _PARSERS}
    for group, spec in SPECS.items()
}
"""Group → its numeric features and their catalog type; other values (strings, features the
catalog does not know) are kept as text."""
_NUMERIC_PARSERS: Final = {
    group: tuple((name, _PARSERS[kind], kind) for name, kind in numeric.items())
    for group, numeric in _NUMERIC.items()
}
REQUEST_TIME_FEATURES: Final[dict[tuple[str, str], tuple[str, TimeFeature]]] = {
    ("customers", "n_days_active"): ("active_since", tenure),
    ("orders", "n_days_since_last_purchase"): ("purchased_on", recency),
}
"""(group, feature) → (stored raw timestamp it derives from, the library function)."""
_TIME_FEATURES: Final = {
    group: [
        (feature, source, compute)
        for (owner, feature), (source, compute) in REQUEST_TIME_FEATURES.items()
        if owner == group
    ]
    for group in SPECS
}


def needed_features(group: str, features: Iterable[str]) -> list[str]:
    """What to read from ``group`` to produce ``features`` as of the request: the stored ones,
    the raw timestamps the time-relative ones derive from, the event time and the version."""
    spec = SPECS[group]
    wanted = dict.fromkeys([spec.event_time_feature, "transform_version"])
    for name in features:
        source = REQUEST_TIME_FEATURES.get((group, name))
        wanted[source[0] if source else name] = None
    return list(wanted)


class CorruptRecord(ValueError):
    """A stored value does not parse as its catalog type (a writer bug, not the caller's)."""


class GroupView(NamedTuple):
    """One group's record for one customer, as of the request (a named tuple: immutable, and
    built in a fraction of a frozen dataclass's time, twice per customer per request)."""

    group: str
    event_time: datetime
    event_time_text: str
    age_seconds: float
    stale: bool
    transform_version: str | None
    values: dict[str, FeatureValue]
    """Typed feature values, time-relative ones recomputed as of the request."""
    as_written: dict[str, FeatureValue]
    """The time-relative features as stored (as of write time), for comparison."""

    def metadata(self) -> dict[str, Any]:
        return {
            "event_time": self.event_time_text,
            "age_seconds": self.age_seconds,
            "stale": self.stale,
            "transform_version": self.transform_version,
        }


def _typed(group: str, record: Mapping[str, str]) -> dict[str, FeatureValue]:
    values: dict[str, FeatureValue] = dict(record)
    for name, parse, kind in _NUMERIC_PARSERS[group]:
        text = record.get(name)
        if text is None:
            continue
        try:
            value = parse(text)
        except ValueError:
            raise CorruptRecord(f"{group}.{name} is not {kind}") from None
        if isinstance(value, float) and not math.isfinite(value):  # JSON has no NaN, inf
            raise CorruptRecord(f"{group}.{name} is not a finite number")
        values[name] = value
    return values


def group_view(
    group: str,
    record: Mapping[str, str],
    *,
    as_of: datetime,
    params: FittedParams,
    max_age_seconds: float | None,
) -> GroupView:
    """Type a stored record, recompute its time-relative features as of ``as_of``, age it
    (stale when older than ``max_age_seconds``, None = no limit, or dated after ``as_of``)."""
    spec = SPECS[group]
    try:
        event_time_text = record[spec.event_time_feature]
        event_time = parse_timestamp(event_time_text)
    except (KeyError, ValueError, OverflowError):  # overflow: past year 9999 once in UTC
        raise CorruptRecord(f"{group} record has no readable {spec.event_time_feature}") from None
    values = _typed(group, record)
    as_written: dict[str, FeatureValue] = {}
    for feature, source, compute in _TIME_FEATURES[group]:
        if feature in values:
            as_written[feature] = values.pop(feature)
        text = record.get(source)
        if text is None:
            continue
        try:  # often the event time itself (a registration, the latest order): parsed once
            moment = event_time if text == event_time_text else parse_timestamp(text)
        except (ValueError, OverflowError):
            raise CorruptRecord(f"{group}.{source} is not a timestamp") from None
        # a time after the request counts as the request's: never a negative tenure/recency
        values[feature] = compute(min(moment, as_of), as_of, params)
    age = (as_of - event_time).total_seconds()
    # a record dated after the request is never fresh, whatever the group's limit
    stale = age < 0 or (max_age_seconds is not None and age > max_age_seconds)
    version = record.get("transform_version")
    return GroupView(group, event_time, event_time_text, age, stale, version, values, as_written)
