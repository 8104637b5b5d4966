"""The inference handler end to end over real HTTP: emulator (BatchGetRecord) → request-time
features → local endpoint (InvokeEndpoint) → API Gateway response."""

import json
from datetime import timedelta

import pytest

from featurestream.contract.model_contract import load_contract
from featurestream.contract.params import load_params
from featurestream.contract.timeutil import parse_timestamp
from featurestream.contract.transforms import customer_features, order_features
from featurestream.serving.app import InferenceApp
from tests.fixtures.inference import api_event, customer_event, order_event
from training.dataset import build_training_rows
from training.history import History

REQUEST_AT = "2022-01-10T12:00:00.000Z"


@pytest.fixture
def app(inference_env):
    return InferenceApp()


def call(app, event):
    answer = app(event)
    return answer["statusCode"], json.loads(answer["body"])


def test_served_vector_equals_the_training_row_for_an_order_at_request_time(app, inference_env):
    """Principle 3: the online latest order recomputed as of the request is the training
    set's "previous order as of the next order's time" — same numbers, same order."""
    profile = customer_event("C11", age=63, sex="M", active_since="2016-05-02T10:00:00.000Z")
    first = order_event("C11", "O1", "2021-06-01T09:00:00.000Z", is_reordered=False)
    latest = order_event("C11", "O2", "2021-12-20T18:30:00.000Z", amount=77.25)
    for event in (profile, first, latest):
        inference_env.put(event)
    next_order = order_event("C11", "O3", REQUEST_AT)  # the order a prediction is for
    [row] = [
        r
        for r in build_training_rows(History([profile], [first, latest, next_order]), load_params())
        if r.order_id == "O3"
    ]

    status, body = call(
        app, api_event("POST", "/predictions", body={"customer_ids": ["C11"]}, at=REQUEST_AT)
    )

    assert status == 200, body
    [prediction] = body["predictions"]
    assert list(prediction["features"]) == list(load_contract().feature_names)
    assert list(prediction["features"].values()) == list(row.features)
    assert body["model_version"] == load_contract().model_version
    assert 0 < prediction["prediction"] < 1


def test_request_time_recency_and_tenure_equal_the_batch_reference(app, inference_env):
    profile = customer_event("C12", active_since="2018-01-15T00:00:00.000Z")
    order = order_event("C12", "O9", "2021-03-03T03:03:03.000Z")
    inference_env.put(profile)
    inference_env.put(order)
    as_of = parse_timestamp(REQUEST_AT)
    params = load_params()

    status, body = call(app, api_event("GET", "/customers/C12/features", at=REQUEST_AT))

    assert status == 200, body
    groups = body["feature_groups"]
    reference_recency = order_features(order, params=params, as_of=as_of)
    reference_tenure = customer_features(profile, params=params, as_of=as_of)
    assert (
        groups["orders"]["features"]["n_days_since_last_purchase"]
        == reference_recency["n_days_since_last_purchase"]
    )
    assert groups["customers"]["features"]["n_days_active"] == reference_tenure["n_days_active"]
    # the stored value was as of the write, which is older: recomputing changed it
    assert (
        groups["orders"]["as_written"]["n_days_since_last_purchase"]
        < groups["orders"]["features"]["n_days_since_last_purchase"]
    )
    assert groups["orders"]["age_seconds"] == (as_of - order.event_time).total_seconds()
    assert body["missing_groups"] == []


def _before(delta: timedelta) -> str:
    """REQUEST_AT minus ``delta``, as an event time."""
    moment = parse_timestamp(REQUEST_AT) - delta
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def test_by_default_an_old_profile_is_not_stale_but_an_old_order_is(app, inference_env):
    """The defaults: a profile registered years ago is normal, never stale; a latest order
    more than 7 days old is stale, and so is every prediction that uses it."""
    inference_env.put(customer_event("C13", active_since="2017-01-01T00:00:00.000Z"))
    inference_env.put(order_event("C13", "O13", _before(timedelta(days=8))))
    inference_env.put(customer_event("C16", active_since="2017-01-01T00:00:00.000Z"))
    inference_env.put(order_event("C16", "O16", _before(timedelta(hours=2))))

    status, body = call(
        app,
        api_event("POST", "/predictions", body={"customer_ids": ["C13", "C16"]}, at=REQUEST_AT),
    )

    assert status == 200, body
    assert body["max_record_age_seconds"] == {"customers": None, "orders": 604800}
    old_order, fresh_order = body["predictions"]
    assert old_order["feature_groups"]["customers"]["stale"] is False  # five years old
    assert old_order["feature_groups"]["customers"]["age_seconds"] > 5 * 365 * 86400
    assert old_order["feature_groups"]["orders"]["stale"] is True  # eight days old
    assert old_order["feature_groups"]["orders"]["age_seconds"] == 8 * 86400
    assert old_order["stale"] is True
    assert fresh_order["feature_groups"]["customers"]["stale"] is False
    assert fresh_order["feature_groups"]["orders"]["stale"] is False  # two hours old
    assert fresh_order["feature_groups"]["orders"]["age_seconds"] == 7200
    assert fresh_order["stale"] is False


def test_each_group_is_aged_against_its_own_limit(app, inference_env, monkeypatch):
    """Customers 10 days, orders 1 day: a 5-day-old profile is fresh (it would be stale under
    the orders limit) and a 2-day-old order is stale (it would be fresh under the customers
    limit), so swapping or sharing the limits fails this test."""
    monkeypatch.setenv("MAX_CUSTOMERS_RECORD_AGE_SECONDS", str(10 * 86400))
    monkeypatch.setenv("MAX_ORDERS_RECORD_AGE_SECONDS", "86400")
    inference_env.put(customer_event("C17", event_time=_before(timedelta(days=5))))
    inference_env.put(order_event("C17", "O17", _before(timedelta(days=2))))

    status, body = call(app, api_event("GET", "/customers/C17/features", at=REQUEST_AT))

    assert status == 200, body
    assert body["max_record_age_seconds"] == {"customers": 864000, "orders": 86400}
    groups = body["feature_groups"]
    assert (groups["customers"]["age_seconds"], groups["customers"]["stale"]) == (432000, False)
    assert (groups["orders"]["age_seconds"], groups["orders"]["stale"]) == (172800, True)


def test_a_profile_past_its_limit_is_stale_and_zero_means_never(app, inference_env, monkeypatch):
    monkeypatch.setenv("MAX_CUSTOMERS_RECORD_AGE_SECONDS", "3600")
    monkeypatch.setenv("MAX_ORDERS_RECORD_AGE_SECONDS", "0")
    inference_env.put(customer_event("C18", event_time=_before(timedelta(hours=2))))
    inference_env.put(order_event("C18", "O18", "2015-01-01T00:00:00.000Z"))

    status, body = call(
        app, api_event("POST", "/predictions", body={"customer_ids": ["C18"]}, at=REQUEST_AT)
    )

    assert status == 200, body
    assert body["max_record_age_seconds"] == {"customers": 3600, "orders": None}
    [prediction] = body["predictions"]
    assert prediction["feature_groups"]["customers"]["stale"] is True  # two hours old
    assert prediction["feature_groups"]["orders"]["stale"] is False  # seven years, never stale
    assert prediction["stale"] is True


def test_missing_customers_and_groups_are_reported_not_invented(app, inference_env):
    inference_env.put(customer_event("C14"))
    inference_env.put(order_event("C14", "O14", "2021-12-01T00:00:00.000Z"))
    inference_env.put(customer_event("C15"))  # no order yet

    status, body = call(
        app,
        api_event(
            "POST", "/predictions", body={"customer_ids": ["C14", "C15", "C999"]}, at=REQUEST_AT
        ),
    )

    assert status == 200, body
    assert [p["customer_id"] for p in body["predictions"]] == ["C14"]
    assert body["missing"] == [
        {
            "customer_id": "C15",
            "missing_groups": ["orders"],
            "missing_features": [
                "orders.purchase_amount",
                "orders.is_reordered",
                "orders.n_days_since_last_purchase",
            ],
        },
        {
            "customer_id": "C999",
            "missing_groups": ["customers", "orders"],
            "missing_features": body["missing"][1]["missing_features"],
        },
    ]
    status, body = call(
        app, api_event("POST", "/predictions", body={"customer_ids": ["C999"]}, at=REQUEST_AT)
    )
    assert status == 404 and body["code"] == "NotFound"
    status, body = call(app, api_event("GET", "/customers/C999/features", at=REQUEST_AT))
    assert status == 404 and body["request_id"] == "test-request-id"
    status, body = call(app, api_event("GET", "/customers/C15/features", at=REQUEST_AT))
    assert status == 200 and body["missing_groups"] == ["orders"]


def test_fifty_plus_customers_are_read_in_chunks_within_the_limits(app, inference_env):
    ids = [f"C{n}" for n in range(100, 200)]
    for customer_id in ids:
        inference_env.put(customer_event(customer_id))
        inference_env.put(
            order_event(customer_id, f"O{customer_id[1:]}", "2021-12-01T00:00:00.000Z")
        )

    status, body = call(
        app, api_event("POST", "/predictions", body={"customer_ids": ids}, at=REQUEST_AT)
    )

    assert status == 200, body
    assert [p["customer_id"] for p in body["predictions"]] == ids
    assert app.service.reader._chunk == 50  # 50 customers x 2 groups = 100 records per call
