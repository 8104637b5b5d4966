"""Parity: the per-event streaming transform equals the tutorial notebook's batch steps.

Every one of the 110,000 rows of raw/, to 1e-9, against ``tests/reference/tutorial.py`` (the
notebook transcribed line by line). Two reference times: the committed params' own, and
00:01 the day after, where calendar days and elapsed days disagree for almost every row.
"""

from datetime import UTC, datetime
from pathlib import Path

import pytest

from featurestream.contract.catalog import CUSTOMERS, ORDERS
from featurestream.contract.params import FittedParams, load_params
from featurestream.contract.transforms import customer_features, order_features
from tests.reference import tutorial
from training.fit import fit_params
from training.history import History

RAW = Path(__file__).resolve().parents[3] / "raw"
TOLERANCE = 1e-9
JUST_AFTER_MIDNIGHT = datetime(2022, 1, 1, 0, 1, tzinfo=UTC)


def _params(which: str, history: History) -> FittedParams:
    """The shipped artifact, or scalers fitted on the same history just after midnight."""
    if which == "shipped":
        return load_params()
    return fit_params(history, as_of=JUST_AFTER_MIDNIGHT, fitted_on={})


def _assert_rows_equal(expected: dict[str, object], actual: dict[str, object], key: str) -> None:
    for name, want in expected.items():
        got = actual[name]
        if isinstance(want, float) or isinstance(got, float):
            assert got == pytest.approx(want, abs=TOLERANCE), f"{key}.{name}"
        else:
            assert got == want, f"{key}.{name}: {got!r} != {want!r}"


@pytest.mark.slow
@pytest.mark.parametrize("which", ["shipped", "just-after-midnight"])
def test_customers_stream_equals_tutorial_batch(raw_history: History, which: str) -> None:
    params = _params(which, raw_history)
    as_of = params.fitted_as_of
    reference = tutorial.customers_features(RAW / "customers.csv", as_of)
    events = raw_history.customers
    assert len(events) == len(reference) == 10_000
    compared = [n for n in CUSTOMERS.feature_names if n not in ("customer_id", "transform_version")]
    expected_rows = reference[compared].to_dict("index")
    for event in events:
        features = customer_features(event, params=params, as_of=as_of)
        _assert_rows_equal(expected_rows[event.customer_id], features, event.customer_id)
        assert features["transform_version"] == params.version


@pytest.mark.slow
@pytest.mark.parametrize("which", ["shipped", "just-after-midnight"])
def test_orders_stream_equals_tutorial_batch(raw_history: History, which: str) -> None:
    params = _params(which, raw_history)
    as_of = params.fitted_as_of
    reference = tutorial.orders_features(RAW / "orders.csv", as_of)
    events = raw_history.orders
    assert len(events) == len(reference) == 100_000
    compared = [n for n in ORDERS.feature_names if n not in ("order_id", "transform_version")]
    expected_rows = reference[compared].to_dict("index")
    for event in events:
        features = order_features(event, params=params, as_of=as_of)
        _assert_rows_equal(expected_rows[event.data.order_id], features, event.data.order_id)
