"""The tutorial's calls, end to end, against the emulator through plain boto3 clients."""

import time

import boto3

from tests.integration.emulator.support import definitions

CUSTOMER_FEATURES = definitions(
    customer_id="String",
    sex="Integral",
    is_married="Integral",
    **{"age_18-29": "Integral", "age_30-39": "Integral"},
    n_days_active="Fractional",
    event_time="Fractional",
)
ORDER_FEATURES = definitions(
    customer_id="String",
    order_id="String",
    purchase_amount="Fractional",
    is_reordered="Integral",
    n_days_since_last_purchase="Fractional",
    event_time="Fractional",
)


def _create(sm, name, features):
    sm.create_feature_group(
        FeatureGroupName=name,
        RecordIdentifierFeatureName="customer_id",
        EventTimeFeatureName="event_time",
        FeatureDefinitions=features,
        OnlineStoreConfig={"EnableOnlineStore": True},
        OfflineStoreConfig={
            "S3StorageConfig": {"S3Uri": "s3://sagemaker-us-east-1-123456789012/feature-store"}
        },
        RoleArn="arn:aws:iam::123456789012:role/service-role/AmazonSageMaker-ExecutionRole",
        Description=f"{name} features",
    )
    while sm.describe_feature_group(FeatureGroupName=name)["FeatureGroupStatus"] == "Creating":
        time.sleep(0.1)


def test_tutorial_flow(featurestore_env, unique_name):
    sm = boto3.client("sagemaker")
    rt = boto3.client("sagemaker-featurestore-runtime")
    customers, orders = f"{unique_name}-customers", f"{unique_name}-orders"
    _create(sm, customers, CUSTOMER_FEATURES)
    _create(sm, orders, ORDER_FEATURES)

    for group in (customers, orders):
        sm.update_feature_metadata(
            FeatureGroupName=group,
            FeatureName="customer_id",
            Description="Customer identifier",
            ParameterAdditions=[{"Key": "idType", "Value": "primarykey"}],
        )
    found = sm.search(
        Resource="FeatureMetadata",
        SearchExpression={
            "Filters": [
                {"Name": "FeatureGroupName", "Operator": "Contains", "Value": unique_name},
                {"Name": "Parameters.idType", "Operator": "Equals", "Value": "primarykey"},
            ]
        },
    )
    assert sorted(r["FeatureMetadata"]["FeatureGroupName"] for r in found["Results"]) == [
        customers,
        orders,
    ]
    assert {r["FeatureMetadata"]["FeatureName"] for r in found["Results"]} == {"customer_id"}

    now = f"{time.time():.3f}"
    rt.put_record(
        FeatureGroupName=customers,
        Record=[
            {"FeatureName": "customer_id", "ValueAsString": "C1"},
            {"FeatureName": "sex", "ValueAsString": "0"},
            {"FeatureName": "is_married", "ValueAsString": "1"},
            {"FeatureName": "age_18-29", "ValueAsString": "0"},
            {"FeatureName": "age_30-39", "ValueAsString": "1"},
            {"FeatureName": "n_days_active", "ValueAsString": "0.25"},
            {"FeatureName": "event_time", "ValueAsString": now},
        ],
    )
    rt.put_record(
        FeatureGroupName=orders,
        Record=[
            {"FeatureName": "customer_id", "ValueAsString": "C1"},
            {"FeatureName": "order_id", "ValueAsString": "O9"},
            {"FeatureName": "purchase_amount", "ValueAsString": "0.7"},
            {"FeatureName": "is_reordered", "ValueAsString": "1"},
            {"FeatureName": "n_days_since_last_purchase", "ValueAsString": "0.1"},
            {"FeatureName": "event_time", "ValueAsString": now},
        ],
    )
    customer = rt.get_record(FeatureGroupName=customers, RecordIdentifierValueAsString="C1")
    assert [fv["FeatureName"] for fv in customer["Record"]] == [
        d["FeatureName"] for d in CUSTOMER_FEATURES
    ]

    batch = rt.batch_get_record(
        Identifiers=[
            {
                "FeatureGroupName": customers,
                "RecordIdentifiersValueAsString": ["C1"],
                "FeatureNames": ["n_days_active", "age_30-39"],
            },
            {
                "FeatureGroupName": orders,
                "RecordIdentifiersValueAsString": ["C1"],
                "FeatureNames": ["purchase_amount"],
            },
        ]
    )
    vector = {
        fv["FeatureName"]: fv["ValueAsString"] for r in batch["Records"] for fv in r["Record"]
    }
    assert vector == {"age_30-39": "1", "n_days_active": "0.25", "purchase_amount": "0.7"}
    assert batch["Errors"] == [] and batch["UnprocessedIdentifiers"] == []
