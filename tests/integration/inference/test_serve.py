"""``featurestream serve``'s gateway: the real handler behind a local HTTP API, payload 2.0,
refusing calls without the bearer token."""

import json
import urllib.error
import urllib.request

import pytest

from devstack.standins.api_gateway import LocalHttpApi, Route, build_event
from tests.fixtures.inference import customer_event, order_event

TOKEN = "s3cret-test-token"


@pytest.fixture
def api(inference_env):
    import handlers.inference

    handlers.inference.app.reset()  # a fresh "container" for this test's environment
    inference_env.put(customer_event("C31"))
    inference_env.put(order_event("C31", "O31", "2021-12-01T00:00:00.000Z"))
    with LocalHttpApi(handlers.inference.lambda_handler, TOKEN) as gateway:
        yield gateway
    handlers.inference.app.reset()


def http(api, method, path, *, body=None, token=TOKEN, raw=None):
    data = raw if raw is not None else None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(api.url + path, data=data, method=method)
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read())


@pytest.mark.parametrize("token", [None, "wrong", ""])
def test_calls_without_the_token_are_refused(api, token):
    status, headers, body = http(api, "GET", "/customers/C31/features", token=token)
    assert (status, body) == (401, {"message": "Unauthorized"})
    assert headers["WWW-Authenticate"] == "Bearer"


def test_prediction_over_http(api):
    status, headers, body = http(api, "POST", "/predictions", body={"customer_ids": ["C31"]})
    assert status == 200, body
    assert body["predictions"][0]["customer_id"] == "C31"
    assert body["request_id"] == headers["apigw-requestid"]


def test_features_and_errors_over_http(api):
    assert http(api, "GET", "/customers/C31/features")[0] == 200
    assert http(api, "GET", "/customers/C32/features")[0] == 404
    status, _, body = http(api, "GET", "/nowhere")
    assert status == 400 and "unknown route" in body["message"]
    status, _, body = http(api, "POST", "/predictions", body={"customer_ids": ["bob"]})
    assert status == 400 and "not a customer id" in body["message"]


def test_hostile_bodies_over_http_are_clear_4xx_never_500(api):
    nested = b'{"customer_ids": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    status, _, body = http(api, "POST", "/predictions", raw=nested)
    assert (status, body["message"]) == (400, "request body is nested too deeply")
    status, _, body = http(api, "POST", "/predictions", raw=b" " * (1024 * 1024))
    assert (status, body["code"]) == (413, "PayloadTooLarge")
    status, _, body = http(api, "POST", "/predictions", raw=b'{"customer_ids": ["\xff"]}')
    assert status == 400 and "not valid JSON" in body["message"]  # sent base64-encoded
    status, _, body = http(api, "GET", "/customers/Jane%20Doe/features")
    assert status == 400 and "Jane" not in json.dumps(body)


def test_the_event_is_payload_format_2_0_without_the_token():
    routes = [Route.parse("GET /customers/{customer_id}/features")]
    event = build_event(
        "GET", "/customers/C9/features?x=1", {"Authorization": "Bearer t", "Host": "h"}, b"", routes
    )
    assert event["version"] == "2.0"
    assert event["routeKey"] == "GET /customers/{customer_id}/features"
    assert event["pathParameters"] == {"customer_id": "C9"}
    assert event["queryStringParameters"] == {"x": "1"}
    assert "authorization" not in event["headers"]
    assert build_event("GET", "/other", {}, b"", routes)["routeKey"] == "$default"


def test_serve_requires_a_token(monkeypatch):
    from click.testing import CliRunner

    from featurestream_cli.main import cli

    monkeypatch.delenv("FEATURESTREAM_API_TOKEN", raising=False)
    result = CliRunner().invoke(cli, ["serve"])
    assert result.exit_code == 2 and "token is required" in result.output


def test_serve_documents_and_passes_on_the_per_group_max_ages(monkeypatch):
    """--max-customers-age/--max-orders-age reach the handler's environment (0 = never)."""
    from click.testing import CliRunner

    import devstack.standins.api_gateway
    from featurestream.serving.settings import InferenceSettings
    from featurestream_cli.main import cli

    seen: list[InferenceSettings] = []

    class Gateway:
        url = "http://127.0.0.1:0"

        def __init__(self, *args):
            seen.append(InferenceSettings.from_env())

        def serve_forever(self):
            raise KeyboardInterrupt

    monkeypatch.setattr(devstack.standins.api_gateway, "LocalHttpApi", Gateway)
    # serve writes into os.environ: set everything it writes here, so it is restored after
    monkeypatch.setenv("CUSTOMERS_FEATURE_GROUP_NAME", "x")
    monkeypatch.setenv("ORDERS_FEATURE_GROUP_NAME", "x")
    monkeypatch.setenv("MODEL_ENDPOINT_NAME", "x")
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    monkeypatch.setenv("MAX_CUSTOMERS_RECORD_AGE_SECONDS", "5")  # the options override these
    monkeypatch.setenv("MAX_ORDERS_RECORD_AGE_SECONDS", "5")
    help_text = CliRunner().invoke(cli, ["serve", "--help"]).output
    assert "--max-customers-age" in help_text and "--max-orders-age" in help_text
    args = ["serve", "--token", TOKEN, "--customers-group", "c", "--orders-group", "o"]

    result = CliRunner().invoke(cli, [*args, "--max-customers-age", "0", "--max-orders-age", "60"])

    assert result.exit_code == 0, result.output
    assert seen[0].max_record_age_seconds == {"customers": None, "orders": 60.0}
    result = CliRunner().invoke(cli, [*args, "--max-orders-age", "-1"])
    assert result.exit_code == 2 and "--max-orders-age" in result.output
