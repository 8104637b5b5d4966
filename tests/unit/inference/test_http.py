"""Bad input is a 400 with a message, decided before any dependency is touched."""

import base64
import json

import pytest

from devstack.stack.lambda_context import LocalContext
from featurestream.serving.app import InferenceApp
from featurestream.serving.http import FeaturesRequest, PredictionsRequest, parse_request
from tests.fixtures.inference import api_event


def _unreachable():
    raise AssertionError("a bad request must not build clients or call dependencies")


@pytest.fixture
def app():
    return InferenceApp(factory=_unreachable)


@pytest.mark.parametrize(
    ("event", "fragment"),
    [
        (api_event("GET", "/nowhere"), "unknown route: GET on this path"),
        (api_event("DELETE", "/predictions"), "unknown route: DELETE on this path"),
        (api_event("POST", "/customers/C1/features"), "unknown route"),
        (api_event("POST", "/predictions", body="{not json"), "not valid JSON"),
        (api_event("POST", "/predictions"), "request body is required"),
        (api_event("POST", "/predictions", body={"ids": ["C1"]}), "customer_ids must be"),
        (api_event("POST", "/predictions", body={"customer_ids": []}), "customer_ids must be"),
        (api_event("POST", "/predictions", body=["C1"]), "customer_ids must be"),
        (
            api_event(
                "POST", "/predictions", body={"customer_ids": [f"C{n}" for n in range(1, 102)]}
            ),
            "at most 100 customer_ids per request, got 101",
        ),
        (
            api_event("POST", "/predictions", body={"customer_ids": ["C1", "x1"]}),
            "customer_ids[1] is not a customer id",
        ),
        (
            api_event("POST", "/predictions", body={"customer_ids": [7]}),
            "customer_ids[0] must be a string",
        ),
        (
            api_event("POST", "/predictions", body={"customer_ids": ["C1\n"]}),
            "customer_ids[0] is not a customer id",
        ),
        (api_event("GET", "/customers/C0/features"), "customer_id in the path is not a customer"),
        (api_event("GET", "/customers/robert'); DROP/features"), "not a customer id"),
    ],
)
def test_bad_input_is_a_400_with_a_message(app, event, fragment):
    answer = app(event)
    body = json.loads(answer["body"])
    assert answer["statusCode"] == 400
    assert body["code"] == "BadRequest"
    assert fragment in body["message"]
    assert body["request_id"] == "test-request-id"
    assert answer["headers"]["Content-Type"] == "application/json"


def test_routes_parse_to_their_requests():
    assert parse_request(api_event("GET", "/customers/C42/features")) == FeaturesRequest("C42")
    ids = {"customer_ids": ["C2", "C1", "C2"]}
    assert parse_request(api_event("POST", "/predictions", body=ids)) == PredictionsRequest(
        ("C2", "C1")
    )


def test_a_base64_body_is_decoded():
    event = api_event("POST", "/predictions")
    event["body"] = base64.b64encode(json.dumps({"customer_ids": ["C5"]}).encode()).decode()
    event["isBase64Encoded"] = True
    assert parse_request(event) == PredictionsRequest(("C5",))


def test_without_api_gateway_the_lambda_request_id_is_used(app):
    context = LocalContext.for_function("InferenceFunction", aws_request_id="lambda-id")
    event = api_event("GET", "/nowhere")
    del event["requestContext"]["requestId"]
    assert json.loads(app(event, context)["body"])["request_id"] == "lambda-id"


def test_a_configuration_error_is_a_500_that_says_so(monkeypatch):
    monkeypatch.delenv("MODEL_ENDPOINT_NAME", raising=False)
    answer = InferenceApp()(api_event("GET", "/customers/C1/features"))
    body = json.loads(answer["body"])
    assert (answer["statusCode"], body["code"]) == (500, "ConfigurationError")
    assert "MODEL_ENDPOINT_NAME" in body["message"]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("api-get-features.json", FeaturesRequest("C3")),
        ("api-post-predictions.json", PredictionsRequest(("C3", "C4", "C1"))),
    ],
)
def test_the_sample_events_are_valid_requests(name, expected):
    from pathlib import Path

    event = json.loads((Path(__file__).resolve().parents[3] / "events" / name).read_text())
    assert event["version"] == "2.0"
    assert parse_request(event) == expected


@pytest.mark.parametrize("request_id", ["gw-request-7", None])
def test_the_log_correlation_id_is_api_gateways_request_id(monkeypatch, request_id):
    import handlers.inference
    from featurestream.aws.observability import logger

    monkeypatch.setattr(handlers.inference, "app", InferenceApp(factory=_unreachable))
    logger.set_correlation_id("left over from another request")
    event = api_event("GET", "/nowhere")
    event["requestContext"]["requestId"] = request_id
    answer = handlers.inference.lambda_handler(
        event, LocalContext.for_function("InferenceFunction")
    )
    assert answer["statusCode"] == 400
    assert logger.get_correlation_id() == request_id
