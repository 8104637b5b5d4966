"""The local endpoint answers boto3 ``sagemaker-runtime`` over real HTTP, as the service does."""

import json

import boto3
import pytest
from botocore.exceptions import ClientError

from featurestream.contract.model_contract import load_contract

ROW = "0,1,0,0,0,0,0,1,0.9,0.5,1,0.2\n1,0,1,0,0,0,0,0,0.1,0.5,0,0.2\n"


@pytest.fixture
def runtime(model_endpoint_env):
    return boto3.client("sagemaker-runtime")


def test_invoke_endpoint_scores_csv_rows_with_the_committed_model(runtime, model_endpoint_env):
    response = runtime.invoke_endpoint(
        EndpointName=model_endpoint_env, ContentType="text/csv", Accept="application/json", Body=ROW
    )
    body = json.loads(response["Body"].read())
    assert response["ContentType"] == "application/json"
    assert response["InvokedProductionVariant"] == "AllTraffic"
    assert body["model_version"] == load_contract().model_version
    first, second = body["predictions"]
    # long tenure, older, previous order reordered → likelier to reorder than the opposite
    assert 0 < second < first < 1


def test_csv_accept_returns_one_probability_per_line(runtime, model_endpoint_env):
    response = runtime.invoke_endpoint(
        EndpointName=model_endpoint_env, ContentType="text/csv", Accept="text/csv", Body=ROW
    )
    lines = response["Body"].read().decode().splitlines()
    assert len(lines) == 2 and all(0 < float(v) < 1 for v in lines)


def test_unknown_endpoint_is_a_validation_error(runtime, model_endpoint_env):
    with pytest.raises(ClientError) as caught:
        runtime.invoke_endpoint(EndpointName="no-such-endpoint", ContentType="text/csv", Body=ROW)
    error = caught.value.response
    assert error["Error"]["Code"] == "ValidationError"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert "no-such-endpoint" in error["Error"]["Message"]


def test_a_row_of_the_wrong_width_is_a_model_error(runtime, model_endpoint_env):
    with pytest.raises(runtime.exceptions.ModelError) as caught:
        runtime.invoke_endpoint(EndpointName=model_endpoint_env, ContentType="text/csv", Body="1,2")
    error = caught.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 424
    assert error["OriginalStatusCode"] == 500
    assert "12 columns" in error["OriginalMessage"]


def test_unsupported_content_type_is_a_model_error_with_415(runtime, model_endpoint_env):
    with pytest.raises(runtime.exceptions.ModelError) as caught:
        runtime.invoke_endpoint(
            EndpointName=model_endpoint_env, ContentType="application/x-npy", Body=b"\x00"
        )
    assert caught.value.response["OriginalStatusCode"] == 415
