"""A record dated after the request (an order dated 9999 that was applied before the stream
functions bounded event times, or a producer clock far ahead) is never served as fresh, and
tenure and recency count its times as the request's: never a negative number of days.
The real handler against the emulator and the local endpoint."""

import json

from featurestream.serving.app import InferenceApp
from tests.fixtures.inference import api_event, customer_event, order_event

REQUEST_AT = "2022-01-10T12:00:00.000Z"
FAR_FUTURE = "9999-12-31T23:59:59.000Z"
# from functions/featurestream/contract/params.json: recency is scaled over 0..730 days, tenure 731..2191
RECENCY_OF_0_DAYS = 0.0
TENURE_OF_0_DAYS = (0 - 731) / (2191 - 731)


def call(event):
    answer = InferenceApp()(event)
    return answer["statusCode"], json.loads(answer["body"])


def test_a_future_order_is_stale_with_zero_days_recency(inference_env):
    inference_env.put(customer_event("C41"))
    inference_env.put(order_event("C41", "O41", FAR_FUTURE))

    status, body = call(api_event("GET", "/customers/C41/features", at=REQUEST_AT))

    assert status == 200, body
    orders = body["feature_groups"]["orders"]
    assert orders["event_time"] == FAR_FUTURE
    assert orders["age_seconds"] < 0
    assert orders["stale"] is True
    assert orders["features"]["n_days_since_last_purchase"] == RECENCY_OF_0_DAYS
    assert body["feature_groups"]["customers"]["stale"] is False

    status, body = call(
        api_event("POST", "/predictions", body={"customer_ids": ["C41"]}, at=REQUEST_AT)
    )

    assert status == 200, body
    [prediction] = body["predictions"]
    assert prediction["stale"] is True
    assert prediction["feature_groups"]["orders"]["stale"] is True
    assert prediction["features"]["n_days_since_last_purchase"] == RECENCY_OF_0_DAYS


def test_a_future_profile_is_stale_although_profiles_have_no_age_limit(inference_env):
    inference_env.put(customer_event("C42", active_since=FAR_FUTURE))
    inference_env.put(order_event("C42", "O42", "2022-01-09T12:00:00.000Z"))

    status, body = call(api_event("GET", "/customers/C42/features", at=REQUEST_AT))

    assert status == 200, body
    assert body["max_record_age_seconds"]["customers"] is None
    customers = body["feature_groups"]["customers"]
    assert customers["stale"] is True and customers["age_seconds"] < 0
    assert customers["features"]["n_days_active"] == TENURE_OF_0_DAYS
    orders = body["feature_groups"]["orders"]
    assert (orders["stale"], orders["age_seconds"]) == (False, 86400.0)
