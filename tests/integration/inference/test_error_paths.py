"""Every dependency failure has its status code, over real HTTP to the emulator and endpoint."""

import json

import boto3
import pytest

from devstack.standins.featurestore.config import FaultConfig
from devstack.standins.model_endpoint.server import EndpointFaults
from featurestream.serving.app import InferenceApp
from featurestream.serving.online_reader import OnlineReader
from tests.fixtures.inference import api_event, customer_event, order_event

REQUEST_AT = "2022-01-10T12:00:00.000Z"
PREDICT = {"customer_ids": ["C21"]}


@pytest.fixture
def stored(inference_env):
    inference_env.put(customer_event("C21"))
    inference_env.put(order_event("C21", "O21", "2021-12-01T00:00:00.000Z"))
    return inference_env


@pytest.fixture
def store_faults(featurestore_server):
    yield featurestore_server
    featurestore_server.faults = FaultConfig()


def predict(app=None):
    answer = (app or InferenceApp())(api_event("POST", "/predictions", body=PREDICT, at=REQUEST_AT))
    return answer["statusCode"], json.loads(answer["body"]), answer["headers"]


@pytest.mark.parametrize(
    ("faults", "status", "code"),
    [
        (EndpointFaults(error_code="ModelError", error_status=424), 502, "ModelError"),
        (
            EndpointFaults(error_code="ModelNotReadyException", error_status=429),
            503,
            "ModelEndpointThrottled",
        ),
        (
            EndpointFaults(error_code="ThrottlingException", error_status=400),
            503,
            "ModelEndpointThrottled",
        ),
        (
            EndpointFaults(error_code="ServiceUnavailable", error_status=503),
            503,
            "ModelEndpointUnavailable",
        ),
        (EndpointFaults(latency_ms=1200), 503, "ModelEndpointTimeout"),
    ],
)
def test_endpoint_failures_map_to_502_or_503(stored, model_endpoint, faults, status, code):
    model_endpoint.faults = faults
    got_status, body, headers = predict()
    assert (got_status, body["code"]) == (status, code), body
    assert body["request_id"] == "test-request-id"
    assert ("Retry-After" in headers) == (status == 503)


def test_an_unknown_endpoint_is_a_502(stored, monkeypatch):
    monkeypatch.setenv("MODEL_ENDPOINT_NAME", "no-such-endpoint")
    status, body, _ = predict()
    assert (status, body["code"], body["dependency_code"]) == (
        502,
        "ModelEndpointError",
        "ValidationError",
    )


def test_a_model_of_another_version_is_refused(stored, model_endpoint, monkeypatch):
    app = InferenceApp()
    app.service.model.model_version = "reorder-lr-other"
    status, body, _ = predict(app)
    assert (status, body["code"]) == (502, "ModelVersionMismatch")


def test_store_throttling_is_a_503(stored, store_faults):
    store_faults.faults = FaultConfig(throttle_rate=1.0, operations=frozenset({"BatchGetRecord"}))
    status, body, _ = predict()
    assert (status, body["code"]) == (503, "FeatureStoreThrottled")


def test_store_5xx_is_a_503(stored, store_faults):
    store_faults.faults = FaultConfig(error_rate=1.0, operations=frozenset({"BatchGetRecord"}))
    status, body, _ = predict()
    assert (status, body["code"]) == (503, "FeatureStoreUnavailable")


def test_per_item_errors_are_surfaced_not_swallowed(stored, monkeypatch):
    monkeypatch.setenv("ORDERS_FEATURE_GROUP_NAME", "no-such-group")
    status, body, _ = predict()
    assert (status, body["code"]) == (502, "FeatureStoreItemError")
    assert body["errors"] == [
        {
            "feature_group": "orders",
            "customer_id": "C21",
            "code": "ResourceNotFound",
            "message": body["errors"][0]["message"],
        }
    ]


def test_unprocessed_identifiers_are_retried_until_read(inference_env):
    ids = [f"C{n}" for n in range(300, 380)]
    for customer_id in ids:
        inference_env.put(customer_event(customer_id))
    client = boto3.client("sagemaker-featurestore-runtime")
    # 80 ids x 2 groups in one call: the store reads 100 and returns the rest unprocessed
    reader = OnlineReader(client, inference_env.names, max_records_per_call=200)
    fetched = reader.fetch(ids)
    assert fetched.calls == 2
    assert sorted(fetched.records["customers"]) == sorted(ids)
    assert fetched.errors == []


def test_unprocessed_identifiers_left_after_the_last_attempt_are_a_503(inference_env):
    from featurestream.serving.errors import ApiError

    ids = [f"C{n}" for n in range(400, 480)]
    client = boto3.client("sagemaker-featurestore-runtime")
    reader = OnlineReader(client, inference_env.names, max_records_per_call=200, max_attempts=1)
    with pytest.raises(ApiError) as caught:
        reader.fetch(ids)
    assert (caught.value.status, caught.value.code) == (503, "FeatureStoreUnprocessed")
