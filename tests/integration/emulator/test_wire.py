"""Error bodies and headers exactly as botocore parses them; never a traceback."""

import json
import urllib.error
import urllib.request

import pytest


def _call(url, path, method="GET", body=None, headers=None):
    request = urllib.request.Request(url + path, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def test_runtime_errors_use_x_amzn_error_type(featurestore_emulator):
    status, headers, body = _call(
        featurestore_emulator, "/FeatureGroup/nope?RecordIdentifierValueAsString=1"
    )
    assert status == 404
    assert headers["x-amzn-ErrorType"] == "ResourceNotFound"
    assert json.loads(body)["message"].startswith("Resource Not Found")


@pytest.mark.parametrize(
    ("path", "method", "body", "code"),
    [
        ("/FeatureGroup/x", "PUT", b"{not json", "SerializationException"),
        ("/FeatureGroup/x", "PUT", b"[1]", "SerializationException"),
        ("/FeatureGroup/x", "PUT", b'{"Record": "oops"}', "ValidationError"),
        (
            "/BatchGetRecord",
            "POST",
            b'{"Identifiers": [{"FeatureGroupName": 5}]}',
            "ValidationError",
        ),
        ("/BatchGetRecord", "POST", b'{"Identifiers": [7]}', "ValidationError"),
        ("/Nowhere", "GET", None, "UnknownOperationException"),
    ],
)
def test_malformed_requests_get_service_errors(featurestore_emulator, path, method, body, code):
    status, headers, payload = _call(featurestore_emulator, path, method, body)
    assert 400 <= status < 500
    assert headers["x-amzn-ErrorType"] == code
    assert "Traceback" not in payload.decode()


def test_control_plane_errors_use_json_type(featurestore_emulator):
    headers = {
        "X-Amz-Target": "SageMaker.DescribeFeatureGroup",
        "Content-Type": "application/x-amz-json-1.1",
    }
    status, _, body = _call(
        featurestore_emulator, "/", "POST", b'{"FeatureGroupName": "nope"}', headers
    )
    assert status == 400
    assert json.loads(body)["__type"] == "ResourceNotFound"
    headers["X-Amz-Target"] = "SageMaker.CreateEndpoint"
    status, _, body = _call(featurestore_emulator, "/", "POST", b"{}", headers)
    assert json.loads(body)["__type"] == "UnknownOperationException"
    headers["X-Amz-Target"] = "SageMaker.CreateFeatureGroup"
    status, _, body = _call(
        featurestore_emulator, "/", "POST", b'{"FeatureDefinitions": 3}', headers
    )
    assert status == 400 and json.loads(body)["__type"] == "ValidationException"
    for payload, code in (
        (b'{"FeatureDefinitions": [3]}', "ValidationException"),
        (b"[]", "SerializationException"),
    ):
        status, _, body = _call(featurestore_emulator, "/", "POST", payload, headers)
        assert status == 400 and json.loads(body)["__type"] == code


def test_health_endpoint(featurestore_emulator):
    status, _, body = _call(featurestore_emulator, "/_emulator/health")
    assert status == 200 and json.loads(body)["status"] == "ok"
