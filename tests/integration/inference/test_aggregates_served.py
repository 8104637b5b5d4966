"""The inference API serves customer-order-stats beside the other groups (features
operation), and keeps predicting from the model's groups only."""

import json

import boto3
import pytest

from featurestream.contract.aggregates import contribution_of, fold, stats_features
from featurestream.contract.catalog import CUSTOMER_ORDER_STATS
from featurestream.contract.params import load_params
from featurestream.contract.timeutil import parse_timestamp
from featurestream.contract.transforms import to_record
from featurestream.serving.app import InferenceApp
from tests.fixtures.inference import api_event, customer_event, order_event

REQUEST_AT = "2022-01-10T12:00:00.000Z"


@pytest.fixture
def stats_group(inference_env, monkeypatch):
    name = inference_env.names["orders"].replace("-orders", "-stats")
    boto3.client("sagemaker").create_feature_group(
        FeatureGroupName=name,
        RecordIdentifierFeatureName=CUSTOMER_ORDER_STATS.record_identifier,
        EventTimeFeatureName=CUSTOMER_ORDER_STATS.event_time_feature,
        FeatureDefinitions=CUSTOMER_ORDER_STATS.feature_definitions(),
        OnlineStoreConfig={"EnableOnlineStore": True},
        RoleArn="arn:aws:iam::123456789012:role/featurestream-tests",
    )
    monkeypatch.setenv("CUSTOMER_ORDER_STATS_FEATURE_GROUP_NAME", name)
    return name


def call(app, event):
    answer = app(event)
    return answer["statusCode"], json.loads(answer["body"])


def test_features_include_the_customer_s_order_aggregates(inference_env, stats_group):
    profile = customer_event("C12", age=33, active_since="2019-05-05T00:00:00.000Z")
    orders = [
        order_event("C12", "O1", "2021-01-01T00:00:00.000Z", amount=10.0, is_reordered=False),
        order_event("C12", "O2", "2021-03-03T03:03:03.000Z", amount=31.0, is_reordered=True),
    ]
    inference_env.put(profile)
    for order in orders:
        inference_env.put(order)
    stats = fold(None, [contribution_of(o) for o in orders])
    written_at = parse_timestamp("2021-12-01T00:00:00.000Z")
    record = stats_features(stats, event_time=written_at, params=load_params())
    inference_env.runtime.put_record(FeatureGroupName=stats_group, Record=to_record(record))

    status, body = call(InferenceApp(), api_event("GET", "/customers/C12/features", at=REQUEST_AT))

    assert status == 200, body
    served = body["feature_groups"]["customer-order-stats"]
    assert served["features"]["total_orders"] == 2
    assert served["features"]["avg_purchase_amount"] == 20.5
    assert served["features"]["reorder_rate"] == 0.5
    assert served["features"]["last_purchased_on"] == "2021-03-03T03:03:03.000Z"
    assert served["stale"] is False  # 40 days old, and an aggregate is never stale
    assert body["missing_groups"] == []


def test_a_customer_without_aggregates_is_reported_missing_that_group(inference_env, stats_group):
    inference_env.put(customer_event("C14", age=40, active_since="2019-05-05T00:00:00.000Z"))
    status, body = call(InferenceApp(), api_event("GET", "/customers/C14/features", at=REQUEST_AT))
    assert status == 200, body
    assert "customer-order-stats" in body["missing_groups"]


def test_predictions_read_only_the_model_s_groups(inference_env, stats_group):
    inference_env.put(customer_event("C15", age=40, active_since="2019-05-05T00:00:00.000Z"))
    inference_env.put(order_event("C15", "O5", "2022-01-09T00:00:00.000Z"))
    status, body = call(
        InferenceApp(),
        api_event("POST", "/predictions", body={"customer_ids": ["C15"]}, at=REQUEST_AT),
    )
    assert status == 200, body
    [prediction] = body["predictions"]
    assert set(prediction["feature_groups"]) == {"customers", "orders"}
