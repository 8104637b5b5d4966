"""CREATE TABLE AS and DROP TABLE through boto3's Athena client against the stand-in: the
data as Parquet in S3, the table in moto's Glue, a SELECT reading it back, and Athena's
refusals (non-empty location, existing name, hostile locations) as FAILED."""

import io
import random
import uuid
from typing import Any

import boto3
import pandas as pd
import pyarrow.parquet as pq
import pytest
from botocore.exceptions import ClientError

from tests.fixtures.offline_stack import RESULTS_BUCKET, OfflineStack
from tests.integration.athena.test_standin import OUTPUT, ROLE, _rows, _run
from tests.integration.emulator.support import definitions, record

DB = "sagemaker_featurestore"
AGGREGATE = (
    "SELECT customer_id, COUNT(*) AS total_orders, AVG(purchase_amount) AS avg_amount, "
    "AVG(is_reordered) AS reorder_rate FROM {orders} GROUP BY customer_id"
)


@pytest.fixture(scope="module")
def orders(offline_stack: OfflineStack) -> tuple[str, pd.DataFrame]:
    """An orders group with 150 orders of 12 customers, flushed to Parquet; the same rows
    as a DataFrame (what pandas aggregates independently)."""
    sm = offline_stack.client("sagemaker")
    rt = offline_stack.client("sagemaker-featurestore-runtime")
    sm.create_feature_group(
        FeatureGroupName="ctas-orders",
        RecordIdentifierFeatureName="order_id",
        EventTimeFeatureName="event_time",
        FeatureDefinitions=definitions(
            order_id="String",
            customer_id="String",
            event_time="String",
            purchase_amount="Fractional",
            is_reordered="Integral",
        ),
        OnlineStoreConfig={"EnableOnlineStore": True},
        OfflineStoreConfig={"S3StorageConfig": {"S3Uri": "s3://offline-bucket/ctas"}},
        RoleArn=ROLE,
    )
    rng = random.Random(19)
    rows = []
    for n in range(150):
        row = {
            "order_id": f"O{n}",
            "customer_id": f"C{rng.randrange(12)}",
            "event_time": f"2024-02-{1 + n % 28:02d}T{n % 24:02d}:00:00Z",
            "purchase_amount": round(rng.uniform(1, 500), 2),
            "is_reordered": rng.randrange(2),
        }
        rows.append(row)
        rt.put_record(
            FeatureGroupName="ctas-orders", Record=record(**{k: str(v) for k, v in row.items()})
        )
    offline_stack.emulator.flush_offline()
    table = sm.describe_feature_group(FeatureGroupName="ctas-orders")["OfflineStoreConfig"][
        "DataCatalogConfig"
    ]["TableName"]
    return table, pd.DataFrame(rows)


def _name() -> str:
    return f"ctas_{uuid.uuid4().hex[:10]}"


def _objects(stack: OfflineStack, location: str) -> list[str]:
    bucket, _, prefix = location.removeprefix("s3://").partition("/")
    s3 = stack.client("s3")
    pages = s3.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Prefix=prefix.rstrip("/") + "/"
    )
    return [o["Key"] for page in pages for o in page.get("Contents", [])]


def _glue_table(stack: OfflineStack, name: str) -> dict[str, Any]:
    return stack.client("glue").get_table(DatabaseName=DB, Name=name)["Table"]  # type: ignore[no-any-return]


def _failed(execution: dict[str, Any]) -> str:
    assert execution["Status"]["State"] == "FAILED", execution["Status"]
    return str(execution["Status"]["StateChangeReason"])


def test_ctas_then_select_gives_the_aggregate_pandas_computes(
    offline_stack: OfflineStack, orders: tuple[str, pd.DataFrame]
) -> None:
    table, frame = orders
    name = _name()
    sql = f"CREATE TABLE {name} AS " + AGGREGATE.format(orders=f'"{table}"')
    execution = _run(offline_stack, sql)
    assert execution["Status"]["State"] == "SUCCEEDED", execution["Status"]
    assert execution["StatementType"] == "DDL"
    assert execution["Statistics"]["DataScannedInBytes"] > 0
    query_id = execution["QueryExecutionId"]
    athena = offline_stack.client("athena")
    answer = athena.get_query_results(QueryExecutionId=query_id)
    assert answer["UpdateCount"] == frame["customer_id"].nunique()
    assert answer["ResultSet"]["Rows"] == []

    location = f"{OUTPUT}tables/{query_id}"
    glue = _glue_table(offline_stack, name)
    storage = glue["StorageDescriptor"]
    assert storage["Location"] == location
    assert [(c["Name"], c["Type"]) for c in storage["Columns"]] == [
        ("customer_id", "string"),
        ("total_orders", "bigint"),
        ("avg_amount", "double"),
        ("reorder_rate", "double"),
    ]
    assert storage["SerdeInfo"]["SerializationLibrary"].endswith("ParquetHiveSerDe")
    assert glue.get("PartitionKeys", []) == []

    manifest = execution["Statistics"]["DataManifestLocation"]
    assert manifest == f"{OUTPUT}{query_id}-manifest.csv"
    body = offline_stack.client("s3").get_object(
        Bucket=RESULTS_BUCKET, Key=manifest.removeprefix(f"s3://{RESULTS_BUCKET}/")
    )["Body"]
    listed = body.read().decode().split()
    keys = _objects(offline_stack, location)
    assert listed == [f"s3://{RESULTS_BUCKET}/{k}" for k in keys]
    assert keys and all(k.endswith(".parquet") for k in keys)
    data = offline_stack.client("s3").get_object(Bucket=RESULTS_BUCKET, Key=keys[0])["Body"]
    parquet = pq.ParquetFile(io.BytesIO(data.read()))
    assert parquet.metadata.row_group(0).column(0).compression == "GZIP"  # Athena's default

    read = _run(offline_stack, f"SELECT * FROM {name} ORDER BY customer_id")
    assert read["Status"]["State"] == "SUCCEEDED", read["Status"]
    info, rows = _rows(athena, read["QueryExecutionId"])
    assert [c["Type"] for c in info] == ["varchar", "bigint", "double", "double"]
    got = pd.DataFrame(rows[1:], columns=rows[0]).astype(
        {"total_orders": int, "avg_amount": float, "reorder_rate": float}
    )
    want = (
        frame.groupby("customer_id")
        .agg(
            total_orders=("order_id", "size"),
            avg_amount=("purchase_amount", "mean"),
            reorder_rate=("is_reordered", "mean"),
        )
        .reset_index()
        .sort_values("customer_id")
        .reset_index(drop=True)
    )
    pd.testing.assert_frame_equal(got, want, check_dtype=False, rtol=1e-12)


def test_partitioned_ctas_writes_hive_folders_with_partition_columns_last(
    offline_stack: OfflineStack, orders: tuple[str, pd.DataFrame]
) -> None:
    table, frame = orders
    name, location = _name(), f"s3://{RESULTS_BUCKET}/ctas-part/{uuid.uuid4().hex}"
    sql = (
        f"CREATE TABLE {DB}.{name} WITH (format = 'PARQUET', external_location = "
        f"'{location}/', partitioned_by = ARRAY['customer_id']) AS SELECT order_id, "
        f'purchase_amount, customer_id FROM "{table}"'
    )
    execution = _run(offline_stack, sql)
    assert execution["Status"]["State"] == "SUCCEEDED", execution["Status"]
    glue = _glue_table(offline_stack, name)
    assert glue["PartitionKeys"] == [{"Name": "customer_id", "Type": "string"}]
    assert [c["Name"] for c in glue["StorageDescriptor"]["Columns"]] == [
        "order_id",
        "purchase_amount",
    ]
    assert glue["StorageDescriptor"]["Location"] == location
    keys = _objects(offline_stack, location)
    prefix = location.removeprefix(f"s3://{RESULTS_BUCKET}/")
    folders = {k.removeprefix(prefix + "/").split("/")[0] for k in keys}
    assert folders == {f"customer_id={c}" for c in frame["customer_id"].unique()}
    partitions = offline_stack.client("glue").get_partitions(DatabaseName=DB, TableName=name)
    assert len(partitions["Partitions"]) == len(folders)
    data = offline_stack.client("s3").get_object(Bucket=RESULTS_BUCKET, Key=keys[0])["Body"]
    assert pq.read_schema(io.BytesIO(data.read())).names == ["order_id", "purchase_amount"]

    read = _run(
        offline_stack, f"SELECT customer_id, count(*) AS n FROM {name} GROUP BY customer_id"
    )
    _, rows = _rows(offline_stack.client("athena"), read["QueryExecutionId"])
    assert {r[0]: int(r[1] or 0) for r in rows[1:]} == frame.groupby("customer_id").size().to_dict()


def test_partition_columns_not_last_or_too_many_partitions_fail(
    offline_stack: OfflineStack, orders: tuple[str, pd.DataFrame]
) -> None:
    table, _ = orders
    not_last = _run(
        offline_stack,
        f"CREATE TABLE {_name()} WITH (partitioned_by = ARRAY['customer_id']) AS "
        f'SELECT customer_id, order_id FROM "{table}"',
    )
    assert "Partition keys must be the last columns" in _failed(not_last)
    too_many = _run(
        offline_stack,
        f"CREATE TABLE {_name()} WITH (partitioned_by = ARRAY['order_id']) AS "
        f'SELECT customer_id, order_id FROM "{table}"',
    )
    assert _failed(too_many).startswith("HIVE_TOO_MANY_OPEN_PARTITIONS")


def test_a_non_empty_external_location_fails_and_creates_nothing(
    offline_stack: OfflineStack, orders: tuple[str, pd.DataFrame]
) -> None:
    table, _ = orders
    prefix = f"ctas-full/{uuid.uuid4().hex}"
    offline_stack.client("s3").put_object(Bucket=RESULTS_BUCKET, Key=f"{prefix}/old", Body=b"x")
    name = _name()
    execution = _run(
        offline_stack,
        f"CREATE TABLE {name} WITH (external_location = 's3://{RESULTS_BUCKET}/{prefix}') "
        f'AS SELECT order_id FROM "{table}"',
    )
    assert _failed(execution).startswith("HIVE_PATH_ALREADY_EXISTS")
    assert _objects(offline_stack, f"s3://{RESULTS_BUCKET}/{prefix}") == [f"{prefix}/old"]
    with pytest.raises(ClientError):
        _glue_table(offline_stack, name)


def test_an_existing_table_name_fails_unless_if_not_exists(
    offline_stack: OfflineStack, orders: tuple[str, pd.DataFrame]
) -> None:
    table, _ = orders
    name = _name()
    first = _run(offline_stack, f'CREATE TABLE {name} AS SELECT order_id FROM "{table}"')
    assert first["Status"]["State"] == "SUCCEEDED", first["Status"]
    again = _run(offline_stack, f'CREATE TABLE {name} AS SELECT customer_id FROM "{table}"')
    assert "already exists" in _failed(again)
    kept = _run(
        offline_stack, f'CREATE TABLE IF NOT EXISTS {name} AS SELECT customer_id FROM "{table}"'
    )
    assert kept["Status"]["State"] == "SUCCEEDED", kept["Status"]
    columns = _glue_table(offline_stack, name)["StorageDescriptor"]["Columns"]
    assert [c["Name"] for c in columns] == ["order_id"]  # the first table stands


def test_with_no_data_creates_an_empty_table_with_the_columns(
    offline_stack: OfflineStack, orders: tuple[str, pd.DataFrame]
) -> None:
    table, _ = orders
    name, location = _name(), f"s3://{RESULTS_BUCKET}/ctas-empty/{uuid.uuid4().hex}"
    execution = _run(
        offline_stack,
        f"CREATE TABLE {name} WITH (external_location = '{location}') AS "
        f'SELECT order_id, is_reordered FROM "{table}" WITH NO DATA',
    )
    assert execution["Status"]["State"] == "SUCCEEDED", execution["Status"]
    columns = _glue_table(offline_stack, name)["StorageDescriptor"]["Columns"]
    assert [(c["Name"], c["Type"]) for c in columns] == [
        ("order_id", "string"),
        ("is_reordered", "bigint"),
    ]
    assert _objects(offline_stack, location) == []
    count = _run(offline_stack, f"SELECT count(*) AS n FROM {name}")
    assert _rows(offline_stack.client("athena"), count["QueryExecutionId"])[1][1] == ["0"]


def test_drop_table_removes_the_catalog_entry_and_keeps_the_data(
    offline_stack: OfflineStack, orders: tuple[str, pd.DataFrame]
) -> None:
    table, _ = orders
    name, location = _name(), f"s3://{RESULTS_BUCKET}/ctas-drop/{uuid.uuid4().hex}"
    created = _run(
        offline_stack,
        f"CREATE TABLE {name} WITH (external_location = '{location}') AS "
        f'SELECT order_id FROM "{table}"',
    )
    assert created["Status"]["State"] == "SUCCEEDED", created["Status"]
    files = _objects(offline_stack, location)
    dropped = _run(offline_stack, f"DROP TABLE {DB}.{name}")
    assert dropped["Status"]["State"] == "SUCCEEDED", dropped["Status"]
    assert dropped["StatementType"] == "DDL"
    with pytest.raises(ClientError) as missing:
        _glue_table(offline_stack, name)
    assert missing.value.response["Error"]["Code"] == "EntityNotFoundException"
    assert files and _objects(offline_stack, location) == files
    assert "does not exist" in _failed(_run(offline_stack, f"DROP TABLE {name}"))
    if_exists = _run(offline_stack, f"DROP TABLE IF EXISTS {name}")
    assert if_exists["Status"]["State"] == "SUCCEEDED", if_exists["Status"]
    gone = _run(offline_stack, f"SELECT * FROM {name}")
    assert _failed(gone).startswith("TABLE_NOT_FOUND")


@pytest.mark.parametrize(
    "location",
    [
        "file:///etc",
        "/etc/passwd",
        f"s3://{RESULTS_BUCKET}/../../etc",
        f"s3://{RESULTS_BUCKET}/a/../../../x",
        "s3://../etc",
        "s3://no-such-bucket-here/x",
        "s3:///etc",
    ],
)
def test_a_hostile_external_location_fails(
    offline_stack: OfflineStack, orders: tuple[str, pd.DataFrame], location: str
) -> None:
    table, _ = orders
    name = _name()
    execution = _run(
        offline_stack,
        f"CREATE TABLE {name} WITH (external_location = '{location}') AS "
        f'SELECT order_id FROM "{table}"',
    )
    assert _failed(execution).startswith("INVALID_TABLE_PROPERTY: ")  # refused up front
    with pytest.raises(ClientError):
        _glue_table(offline_stack, name)
    state = offline_stack.athena.state_dir.parent
    assert not list(state.rglob("etc")) and not list(state.parent.rglob("x"))


def test_what_the_standin_cannot_do_fails_with_a_reason(
    offline_stack: OfflineStack, orders: tuple[str, pd.DataFrame]
) -> None:
    table, _ = orders
    cases = {
        f"CREATE TABLE {_name()} WITH (format = 'ORC') AS SELECT order_id FROM \"{table}\"": (
            "PARQUET only"
        ),
        f"CREATE TABLE {_name()} WITH (table_type = 'ICEBERG') AS SELECT 1 AS a": "HIVE",
        f"CREATE TABLE {_name()} WITH (colour = 'red') AS SELECT 1 AS a": "colour",
        f'CREATE TABLE {_name()} AS SELECT count(*) FROM "{table}"': "position 1",
        f"CREATE TABLE nowhere.{_name()} AS SELECT 1 AS a": "SCHEMA_NOT_FOUND",
    }
    for sql, reason in cases.items():
        assert reason in _failed(_run(offline_stack, sql)), sql


def test_glue_sees_the_table_through_a_plain_boto3_client(
    offline_stack: OfflineStack, orders: tuple[str, pd.DataFrame]
) -> None:
    table, _ = orders
    name = _name()
    execution = _run(offline_stack, f'CREATE TABLE {name} AS SELECT order_id FROM "{table}"')
    assert execution["Status"]["State"] == "SUCCEEDED", execution["Status"]
    glue = boto3.client(
        "glue",
        endpoint_url=offline_stack.moto,
        region_name="us-east-1",
        aws_access_key_id="other",
        aws_secret_access_key="other",
    )
    names = [t["Name"] for t in glue.get_tables(DatabaseName=DB)["TableList"]]
    assert name in names


def test_a_ctas_stopped_while_it_writes_registers_no_table(
    offline_stack: OfflineStack, orders: tuple[str, pd.DataFrame]
) -> None:
    from devstack.standins.athena.ddl import statement
    from devstack.standins.athena.engine import QueryError

    table, _ = orders
    name, location = _name(), f"s3://{RESULTS_BUCKET}/ctas-stopped/{uuid.uuid4().hex}"
    tree = statement(
        f"CREATE TABLE {name} WITH (external_location = '{location}') AS "
        f'SELECT order_id FROM "{table}"'
    )
    assert tree is not None
    with pytest.raises(QueryError, match="cancelled"):
        offline_stack.athena.ddl.run(
            "stopped-query", tree, DB, OUTPUT.rstrip("/"), cancelled=lambda: True
        )
    with pytest.raises(ClientError):
        _glue_table(offline_stack, name)
    assert _objects(offline_stack, location)  # its files stay, as Athena leaves them
