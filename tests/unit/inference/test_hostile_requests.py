"""Malformed and hostile input at every input of the inference handler (the event's shape,
path, path parameters, query, headers, body size, nesting, types, request time): a 4xx
with a clear message that never echoes the value sent, decided before any dependency is
touched. Never a 500, never a traceback. Called through the Lambda entry point."""

import base64
import json

import pytest

import handlers.inference
from devstack.stack.lambda_context import LocalContext
from featurestream.serving.app import InferenceApp
from featurestream.serving.http import MAX_BODY_BYTES, FeaturesRequest, parse_request
from tests.fixtures.inference import api_event

NAME = "Zebulon Quackenbush"
NESTED = "[" * 5000 + "]" * 5000
LAMBDA_REQUEST_ID = "lambda-request-id"


def _unreachable():
    raise AssertionError("a bad request must not build clients or call dependencies")


@pytest.fixture
def call(monkeypatch, capsys):
    """Invoke the real Lambda handler; returns status, body and everything it printed."""
    monkeypatch.setattr(handlers.inference, "app", InferenceApp(factory=_unreachable))

    def invoke(event):
        capsys.readouterr()
        context = LocalContext.for_function("InferenceFunction", aws_request_id=LAMBDA_REQUEST_ID)
        answer = handlers.inference.lambda_handler(event, context)
        printed = capsys.readouterr()
        return answer["statusCode"], json.loads(answer["body"]), printed.out + printed.err

    return invoke


def post(text: str, **fields) -> dict:
    event = api_event("POST", "/predictions", body=text)
    event.update(fields)
    return event


def with_context(**fields) -> dict:
    event = api_event("GET", "/customers/C1/features")
    event["requestContext"].update(fields)
    return event


def with_fields(**fields) -> dict:
    event = api_event("GET", "/customers/C1/features")
    event.update(fields)
    return event


CASES = {
    "nested-body": (post(NESTED), 400, "request body is nested too deeply"),
    "nested-ids": (post('{"customer_ids": ' + NESTED + "}"), 400, "nested too deeply"),
    "big-body": (post(" " * (MAX_BODY_BYTES + 1)), 413, f"over {MAX_BODY_BYTES} bytes"),
    "big-base64": (
        post(base64.b64encode(b" " * (MAX_BODY_BYTES + 1)).decode(), isBase64Encoded=True),
        413,
        "over",
    ),
    "bad-base64": (post("%%%", isBase64Encoded=True), 400, "not valid base64"),
    "not-utf8": (
        post(base64.b64encode(b'{"customer_ids": ["\xff"]}').decode(), isBase64Encoded=True),
        400,
        "not valid JSON",
    ),
    "surrogate": (post('{"customer_ids": ["\ud800"]}'), 400, "not valid UTF-8"),
    "huge-int": (post('{"customer_ids": [' + "9" * 5000 + "]}"), 400, "not valid JSON"),
    "body-object": (post("", body={"customer_ids": ["C1"]}), 400, "body must be a string"),
    "id-object": (post('{"customer_ids": [{"name": "x"}]}'), 400, "customer_ids[0] must be"),
    "ids-string": (post('{"customer_ids": "C1"}'), 400, "customer_ids must be a non-empty list"),
    "event-list": ([], 400, "not an API Gateway HTTP API"),
    "event-text": ("GET /", 400, "not an API Gateway HTTP API"),
    "context-text": (with_fields(requestContext="x"), 400, "requestContext must be an object"),
    "http-list": (with_context(http=["GET"]), 400, "requestContext.http must be an object"),
    "params-text": (with_fields(pathParameters="C1"), 400, "pathParameters must be an object"),
    "epoch-huge": (with_context(timeEpoch=1e300), 400, "requestContext.timeEpoch must be"),
    "epoch-nan": (with_context(timeEpoch=float("nan")), 400, "requestContext.timeEpoch"),
    "epoch-text": (with_context(timeEpoch="yesterday"), 400, "requestContext.timeEpoch"),
    "epoch-bool": (with_context(timeEpoch=True), 400, "requestContext.timeEpoch"),
    "method-list": (with_context(http={"method": ["GET"]}), 400, "unknown route"),
    "path-int": (with_fields(rawPath=7), 400, "unknown route"),
}


@pytest.mark.parametrize(("event", "status", "fragment"), CASES.values(), ids=CASES.keys())
def test_hostile_input_is_a_clear_4xx(call, event, status, fragment):
    got, body, printed = call(event)
    assert (got, body["code"]) == (status, "BadRequest" if status == 400 else "PayloadTooLarge")
    assert fragment in body["message"]
    assert "Traceback" not in printed and "Error" not in body["message"]


NAMED = {
    "path-id": api_event("GET", f"/customers/{NAME}/features"),
    "body-id": api_event("POST", "/predictions", body={"customer_ids": ["C1", NAME]}),
    "route": api_event("GET", f"/people/{NAME}"),
    "method": api_event(NAME, "/predictions"),
}


@pytest.mark.parametrize("event", NAMED.values(), ids=NAMED.keys())
def test_no_answer_or_log_line_echoes_a_value_sent(call, event):
    got, body, printed = call(event)
    assert got == 400
    assert "Zebulon" not in json.dumps(body)
    assert "Zebulon" not in printed


def test_query_parameters_and_headers_are_not_read():
    event = api_event("GET", "/customers/C7/features")
    event["rawQueryString"] = f"name={NAME}&customer_id=C8"
    event["queryStringParameters"] = {"name": NAME, "customer_id": "C8"}
    event["headers"] = {"x-customer-id": "C9", "content-type": NAME, "content-length": "-1"}
    assert parse_request(event) == FeaturesRequest("C7")


@pytest.mark.parametrize("rid", [{"id": 1}, "", "x" * 129])
def test_an_unusable_request_id_gives_way_to_the_lambdas(call, rid):
    event = api_event("GET", "/nowhere")
    event["requestContext"]["requestId"] = rid
    status, body, _ = call(event)
    assert status == 400
    assert body["request_id"] == LAMBDA_REQUEST_ID
