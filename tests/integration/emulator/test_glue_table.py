"""Each group's offline store gets a Glue table in moto's Glue, as the service creates it."""

from pathlib import Path
from typing import Any

import boto3
import pytest

from devstack.standins.featurestore.server import FeatureStoreEmulator
from tests.integration.emulator.support import definitions

FEATURES = {
    "customer_id": "String",
    "event_time": "String",
    "age": "Integral",
    "score": "Fractional",
}


def _create(sm: Any, name: str, **offline: Any) -> None:
    sm.create_feature_group(
        FeatureGroupName=name,
        RecordIdentifierFeatureName="customer_id",
        EventTimeFeatureName="event_time",
        FeatureDefinitions=definitions(**FEATURES),
        OfflineStoreConfig={"S3StorageConfig": {"S3Uri": "s3://offline-bucket/fs"}, **offline},
        RoleArn="arn:aws:iam::123456789012:role/featurestore",
    )


@pytest.fixture
def glue(moto_server: str) -> Any:
    return boto3.client("glue", endpoint_url=moto_server)


def test_create_registers_the_documented_table(
    tmp_path: Path, moto_server: str, glue: Any, unique_name: str
) -> None:
    name = f"Orders-{unique_name}"[:64]
    with FeatureStoreEmulator(tmp_path, glue_endpoint=moto_server) as emulator:
        sm = boto3.client("sagemaker", endpoint_url=emulator.endpoint_url)
        _create(sm, name)
        described = sm.describe_feature_group(FeatureGroupName=name)
    created = int(described["CreationTime"].timestamp())
    expected_table = f"{name.lower().replace('-', '_')}_{created}"
    config = described["OfflineStoreConfig"]["DataCatalogConfig"]
    assert config == {
        "TableName": expected_table,
        "Catalog": "AwsDataCatalog",
        "Database": "sagemaker_featurestore",
    }
    table = glue.get_table(DatabaseName="sagemaker_featurestore", Name=expected_table)["Table"]
    columns = {c["Name"]: c["Type"] for c in table["StorageDescriptor"]["Columns"]}
    assert columns == {
        "customer_id": "string",
        "event_time": "string",
        "age": "bigint",
        "score": "double",
        "write_time": "timestamp",
        "api_invocation_time": "timestamp",
        "is_deleted": "boolean",
    }
    assert [k["Name"] for k in table["PartitionKeys"]] == ["year", "month", "day", "hour"]
    resolved = described["OfflineStoreConfig"]["S3StorageConfig"]["ResolvedOutputS3Uri"]
    assert table["StorageDescriptor"]["Location"] == resolved
    assert resolved.endswith(f"/offline-store/{name}-{created}/data")


def test_disabled_glue_table_creation_registers_nothing(
    tmp_path: Path, moto_server: str, glue: Any, unique_name: str
) -> None:
    with FeatureStoreEmulator(tmp_path, glue_endpoint=moto_server) as emulator:
        sm = boto3.client("sagemaker", endpoint_url=emulator.endpoint_url)
        _create(sm, unique_name, DisableGlueTableCreation=True)
    tables = glue.get_tables(DatabaseName="sagemaker_featurestore")["TableList"]
    assert not [t for t in tables if t["Name"].startswith(unique_name.lower().replace("-", "_"))]


def test_feature_additions_reach_the_table(
    tmp_path: Path, moto_server: str, glue: Any, unique_name: str
) -> None:
    with FeatureStoreEmulator(tmp_path, glue_endpoint=moto_server) as emulator:
        sm = boto3.client("sagemaker", endpoint_url=emulator.endpoint_url)
        _create(sm, unique_name)
        sm.update_feature_group(
            FeatureGroupName=unique_name, FeatureAdditions=definitions(tier="String")
        )
        table_name = sm.describe_feature_group(FeatureGroupName=unique_name)["OfflineStoreConfig"][
            "DataCatalogConfig"
        ]["TableName"]
    table = glue.get_table(DatabaseName="sagemaker_featurestore", Name=table_name)["Table"]
    names = [c["Name"] for c in table["StorageDescriptor"]["Columns"]]
    assert names.index("tier") < names.index("write_time")


def test_a_group_created_while_glue_was_away_is_registered_at_the_next_start(
    tmp_path: Path, moto_server: str, glue: Any, unique_name: str
) -> None:
    with FeatureStoreEmulator(tmp_path) as emulator:  # no Glue configured
        sm = boto3.client("sagemaker", endpoint_url=emulator.endpoint_url)
        _create(sm, unique_name)
        table_name = sm.describe_feature_group(FeatureGroupName=unique_name)["OfflineStoreConfig"][
            "DataCatalogConfig"
        ]["TableName"]
    with FeatureStoreEmulator(tmp_path, glue_endpoint=moto_server):
        table = glue.get_table(DatabaseName="sagemaker_featurestore", Name=table_name)
    assert table["Table"]["Name"] == table_name
