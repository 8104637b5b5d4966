"""The lean clients: what they skip is proven unnecessary here.

Request shapes: the library builds them, so the Lambda's clients do not re-validate them;
these tests send them through clients that do (botocore Stubber, validation on). Answers:
for a plain-JSON output shape, the lean parser returns what botocore's own parser returns.
"""

import io
import json

import boto3
import botocore.session
import pytest
from botocore.exceptions import ParamValidationError
from botocore.parsers import create_parser
from botocore.response import StreamingBody
from botocore.serialize import create_serializer
from botocore.stub import Stubber

from featurestream.aws.clients import PlainJsonParserFactory, is_plain_json, lean_client
from featurestream.contract.model_contract import load_contract
from featurestream.serving.app import feature_store_client
from featurestream.serving.model_client import ModelClient
from featurestream.serving.online_reader import OnlineReader
from featurestream.serving.request_features import needed_features

ARN = "arn:aws:sagemaker:us-east-1:123456789012:feature-group/"


def _validating_client(service: str):
    return boto3.session.Session(
        aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1"
    ).client(service)


def _output_shape(service: str, operation: str):
    model = botocore.session.get_session().get_service_model(service)
    return model.operation_model(operation).output_shape


def _answer(body: dict, status: int = 200) -> dict:
    return {
        "body": json.dumps(body).encode(),
        "headers": {"x-amzn-requestid": "rid-1", "content-type": "application/json"},
        "status_code": status,
        "context": {"operation_name": "BatchGetRecord"},
    }


def test_batch_get_record_requests_are_valid_for_the_service_model():
    contract = load_contract()
    reads = {
        g: needed_features(g, [f.name for f in contract.features if f.group == g])
        for g in contract.groups()
    }
    ids = [f"C{n}" for n in range(1, 101)]
    client = _validating_client("sagemaker-featurestore-runtime")
    with Stubber(client) as stubber:
        for chunk in (ids[:50], ids[50:]):
            identifiers = [
                {
                    "FeatureGroupName": name,
                    "RecordIdentifiersValueAsString": chunk,
                    "FeatureNames": reads[group],
                }
                for group, name in (("customers", "c"), ("orders", "o"))
            ]
            answer = {"Records": [], "Errors": [], "UnprocessedIdentifiers": []}
            stubber.add_response("batch_get_record", answer, {"Identifiers": identifiers})
        OnlineReader(client, {"customers": "c", "orders": "o"}).fetch(ids, reads)
        stubber.assert_no_pending_responses()


def test_invoke_endpoint_requests_are_valid_for_the_service_model():
    client = _validating_client("sagemaker-runtime")
    answer = json.dumps({"predictions": [0.25], "model_version": "m1"}).encode()
    expected = {
        "EndpointName": "e",
        "ContentType": "text/csv",
        "Accept": "application/json",
        "Body": b"1.0,0.5\n",
    }
    with Stubber(client) as stubber:
        stubber.add_response(
            "invoke_endpoint", {"Body": StreamingBody(io.BytesIO(answer), len(answer))}, expected
        )
        assert ModelClient(client, "e", "m1").predict([[1, 0.5]]) == [0.25]


def test_the_store_clients_batch_get_record_bodies_are_botocores_byte_for_byte():
    params = {
        "Identifiers": [
            {"FeatureGroupName": "c", "RecordIdentifiersValueAsString": ["C1", "C2"]},
            {
                "FeatureGroupName": ARN + "o",
                "RecordIdentifiersValueAsString": ["C1"],
                "FeatureNames": ["purchased_on", "é"],
            },
        ],
        "ExpirationTimeResponse": "Disabled",
    }
    client = feature_store_client(attempts=1, connect=1, read=1)
    sent: list[bytes] = []

    class Sent(Exception):
        pass

    def capture(request, **_):
        sent.append(request.body)
        raise Sent

    client.meta.events.register("before-send", capture)
    with pytest.raises(Sent):
        client.batch_get_record(**params)
    model = client.meta.service_model.operation_model("BatchGetRecord")
    assert sent == [create_serializer("rest-json").serialize_to_request(params, model)["body"]]
    assert params["Identifiers"][0]["RecordIdentifiersValueAsString"] == ["C1", "C2"]


def test_the_lean_clients_skip_parameter_validation():
    malformed = {"Identifiers": [{"FeatureGroupName": "c"}]}  # no record identifiers
    with pytest.raises(ParamValidationError):
        _validating_client("sagemaker-featurestore-runtime").batch_get_record(**malformed)
    client = lean_client("sagemaker-featurestore-runtime", attempts=1, connect=1, read=1)
    with Stubber(client) as stubber:
        stubber.add_response(
            "batch_get_record", {"Records": [], "Errors": [], "UnprocessedIdentifiers": []}
        )
        assert client.batch_get_record(**malformed)["Records"] == []


@pytest.mark.parametrize(
    ("service", "operation", "plain"),
    [
        ("sagemaker-featurestore-runtime", "BatchGetRecord", True),
        ("sagemaker-featurestore-runtime", "GetRecord", True),
        ("sagemaker-runtime", "InvokeEndpoint", False),  # its Body is the payload, headers too
        ("sagemaker", "DescribeFeatureGroup", False),  # timestamps, numbers
    ],
)
def test_only_string_lists_and_structures_are_plain(service, operation, plain):
    assert is_plain_json(_output_shape(service, operation)) is plain


def test_a_batch_get_record_answer_parses_as_botocore_parses_it():
    shape = _output_shape("sagemaker-featurestore-runtime", "BatchGetRecord")
    body = {
        "Records": [
            {
                "FeatureGroupName": ARN + "c",
                "RecordIdentifierValueAsString": f"C{n}",
                "Record": [
                    {"FeatureName": "customer_id", "ValueAsString": f"C{n}"},
                    {"FeatureName": "tags", "ValueAsStringList": ["a", "b"]},
                ],
                "ExpiresAt": "2030-01-01T00:00:00Z",
            }
            for n in range(1, 4)
        ],
        "Errors": [
            {
                "FeatureGroupName": "o",
                "RecordIdentifierValueAsString": "C9",
                "ErrorCode": "InternalFailure",
                "ErrorMessage": "boom",
            }
        ],
        "UnprocessedIdentifiers": [
            {
                "FeatureGroupName": "o",
                "RecordIdentifiersValueAsString": ["C7"],
                "FeatureNames": ["x"],
            }
        ],
        "SomethingNew": {"not": "modelled"},  # a key a newer service adds is dropped, too
    }
    lean = PlainJsonParserFactory().create_parser("rest-json").parse(_answer(body), shape)
    assert lean == create_parser("rest-json").parse(_answer(body), shape)
    assert lean["Records"][2]["Record"][0]["ValueAsString"] == "C3"


def test_error_answers_keep_botocore_parsing():
    shape = _output_shape("sagemaker-featurestore-runtime", "BatchGetRecord")
    answer = _answer({"message": "no such group"}, status=400)
    answer["headers"]["x-amzn-errortype"] = "ResourceNotFound"
    lean = PlainJsonParserFactory().create_parser("rest-json").parse(answer, shape)
    assert lean == create_parser("rest-json").parse(answer, shape)
    assert lean["Error"]["Code"] == "ResourceNotFound"
