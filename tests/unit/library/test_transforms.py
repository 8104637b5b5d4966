"""Every transform edge, with expected values worked out by hand."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from featurestream.contract.catalog import CUSTOMERS, ORDERS
from featurestream.contract.events import CustomerEvent, OrderEvent
from featurestream.contract.params import FittedParams, MinMax, content_version
from featurestream.contract.timeutil import days_between, format_event_time, parse_timestamp
from featurestream.contract.transforms import (
    age_bins,
    customer_features,
    features_for,
    order_features,
    recency,
    tenure,
    to_record,
    value_as_string,
)
from tests.unit.library.test_events import customer, order

AS_OF = datetime(2022, 1, 1, tzinfo=UTC)
SCALERS = {
    "n_days_active": MinMax(100.0, 1100.0),
    "purchase_amount": MinMax(1.0, 101.0),
    "n_days_since_last_purchase": MinMax(0.0, 400.0),
}
PARAMS = FittedParams(content_version(AS_OF, SCALERS), AS_OF, SCALERS, {})


@pytest.mark.parametrize(
    ("age", "hot"),
    [
        (18, "age_18-29"),
        (29, "age_18-29"),
        (30, "age_30-39"),
        (39, "age_30-39"),
        (40, "age_40-49"),
        (59, "age_50-59"),
        (60, "age_60-69"),
        (69, "age_60-69"),
        (70, "age_70-plus"),
        (89, "age_70-plus"),
        (90, "age_70-plus"),
        (104, "age_70-plus"),
    ],
)
def test_each_age_lands_in_the_bin_its_label_names(age: int, hot: str) -> None:
    bins = age_bins(age)
    assert bins[hot] == 1
    assert sum(bins.values()) == 1


def test_under_18_sets_no_bin() -> None:
    assert sum(age_bins(17).values()) == 0


BRASILIA = timezone(-timedelta(hours=2))
TOKYO = timezone(timedelta(hours=9))


@pytest.mark.parametrize(
    ("start", "as_of", "days"),
    [
        # two minutes apart, on consecutive dates
        (datetime(2021, 12, 31, 23, 59, tzinfo=UTC), datetime(2022, 1, 1, 0, 1, tzinfo=UTC), 1),
        # almost a whole day apart, on the same date
        (datetime(2021, 12, 31, tzinfo=UTC), datetime(2021, 12, 31, 23, 59, 59, tzinfo=UTC), 0),
        (datetime(2021, 12, 31, tzinfo=UTC), datetime(2022, 1, 1, 23, 59, tzinfo=UTC), 1),
        (datetime(2020, 2, 28, 12, tzinfo=UTC), datetime(2020, 3, 1, 11, tzinfo=UTC), 2),  # leap
        # as_of before the start: negative
        (
            datetime(2021, 12, 31, 23, 59, tzinfo=UTC),
            datetime(2021, 12, 30, 23, 59, tzinfo=UTC),
            -1,
        ),
        # each moment counts on its UTC date: 23:00 at -02:00 is 01:00 UTC on the 1st ...
        (datetime(2021, 12, 31, 12, tzinfo=UTC), datetime(2021, 12, 31, 23, tzinfo=BRASILIA), 1),
        # ... 08:00 at +09:00 on the 1st is 23:00 UTC on the 31st
        (datetime(2022, 1, 1, 8, tzinfo=TOKYO), datetime(2022, 1, 1, 0, 1, tzinfo=UTC), 1),
        # a naive datetime is taken as UTC
        (datetime(2021, 12, 31, 23, 59), datetime(2022, 1, 1, 0, 1, tzinfo=UTC), 1),
    ],
)
def test_day_counts_are_calendar_days_between_utc_dates(
    start: datetime, as_of: datetime, days: int
) -> None:
    assert days_between(start, as_of) == days


def test_time_relative_features_depend_only_on_as_of() -> None:
    registered = datetime(2019, 1, 1, tzinfo=UTC)
    assert tenure(registered, datetime(2019, 4, 11, tzinfo=UTC), PARAMS) == 0.0  # 100 days
    assert tenure(registered, datetime(2021, 12, 1, tzinfo=UTC), PARAMS) == pytest.approx(
        (1065 - 100) / 1000
    )
    assert recency(registered, datetime(2019, 2, 10, tzinfo=UTC), PARAMS) == 40 / 400


def test_constant_scaler_maps_to_zero() -> None:
    assert MinMax(5.0, 5.0).scale(5.0) == 0.0


def test_customer_record() -> None:
    event = CustomerEvent.model_validate(customer())
    features = customer_features(event, params=PARAMS, as_of=AS_OF)
    days = 1825  # 2017-01-02 to 2022-01-01: 5 years of 365 days, one leap day, less 1 day
    assert features == {
        "customer_id": "C42",
        "sex": 0,
        "is_married": 0,
        "age_18-29": 0,
        "age_30-39": 1,
        "age_40-49": 0,
        "age_50-59": 0,
        "age_60-69": 0,
        "age_70-plus": 0,
        "n_days_active": (days - 100) / 1000,
        "active_since": "2017-01-02T03:04:05.000Z",
        "event_time": "2017-01-02T03:04:05.000Z",
        "transform_version": PARAMS.version,
    }
    assert list(features) == list(CUSTOMERS.feature_names)


@pytest.mark.parametrize(
    ("event", "group"),
    [
        (CustomerEvent.model_validate(customer()), CUSTOMERS),
        (
            CustomerEvent.model_validate(
                customer(event_type="customer.updated", event_time="2018-01-01T00:00:00Z")
            ),
            CUSTOMERS,
        ),
        (OrderEvent.model_validate(order()), ORDERS),
    ],
    ids=["customer.registered", "customer.updated", "order.placed"],
)
def test_each_event_type_feeds_its_own_group(event, group) -> None:
    spec, features = features_for(event, params=PARAMS, as_of=AS_OF)
    assert spec is group
    assert list(features) == list(group.feature_names)


def test_order_record() -> None:
    event = OrderEvent.model_validate(order(data={"is_reordered": False, "purchase_amount": 51.0}))
    features = order_features(event, params=PARAMS, as_of=AS_OF)
    days = 303  # 2021-03-04 to 2022-01-01: 28 days left in March, then 275 (April-December)
    assert features == {
        "customer_id": "C42",
        "order_id": "O17",
        "product_id": "P7",
        "purchase_amount": 0.5,
        "is_reordered": 0,
        "n_days_since_last_purchase": days / 400,
        "purchased_on": "2021-03-04T05:06:07.000Z",
        "event_time": "2021-03-04T05:06:07.000Z",
        "transform_version": PARAMS.version,
    }
    assert list(features) == list(ORDERS.feature_names)


def test_wire_text_of_values() -> None:
    assert value_as_string(7) == "7"
    assert value_as_string(True) == "1"
    assert value_as_string(0.25) == "0.25"
    assert value_as_string(1e-05) == "0.00001"
    assert float(value_as_string(1 / 3)) == 1 / 3
    assert to_record({"a": 1, "b": "x"}) == [
        {"FeatureName": "a", "ValueAsString": "1"},
        {"FeatureName": "b", "ValueAsString": "x"},
    ]


def test_event_time_text_is_what_the_feature_store_accepts() -> None:
    moment = datetime(2024, 5, 1, 12, 0, 0, 123999, tzinfo=UTC)
    assert format_event_time(moment) == "2024-05-01T12:00:00.123Z"
    assert format_event_time(parse_timestamp("2024-05-01 14:00:00+02:00")) == (
        "2024-05-01T12:00:00.000Z"
    )
    assert format_event_time(parse_timestamp("2016-03-07 10:30:59")) == "2016-03-07T10:30:59.000Z"
    with pytest.raises(ValueError, match="not an ISO-8601"):
        parse_timestamp("07/03/2016")
