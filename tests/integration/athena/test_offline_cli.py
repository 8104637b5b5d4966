"""``featurestream offline`` against the local stack: the template's groups have Glue tables,
the Athena stand-in answers through AWS_ENDPOINT_URL_ATHENA, short names expand, the
built-in views keep what they promise, and errors are one clear line."""

import csv
import io
import time
import urllib.request
import uuid
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest
from click.testing import CliRunner

from devstack.stack.deployment import DevStack
from featurestream_cli.main import cli

CUSTOMER = {
    "sex": "1",
    "is_married": "0",
    "age_18-29": "0",
    "age_30-39": "1",
    "age_40-49": "0",
    "age_50-59": "0",
    "age_60-69": "0",
    "age_70-plus": "0",
    "n_days_active": "0.5",
    "active_since": "2020-01-01T00:00:00Z",
    "transform_version": "test",
}


def _customer(cid: str, at: str, **changes: str) -> list[dict[str, str]]:
    values = {"customer_id": cid, "event_time": at, **CUSTOMER, **changes}
    return [{"FeatureName": k, "ValueAsString": v} for k, v in values.items()]


@pytest.fixture
def ids() -> str:
    return "Q" + uuid.uuid4().hex[:10]


def _flush(stack: DevStack) -> None:
    url = stack.featurestore().url()
    request = urllib.request.Request(f"{url}/_emulator/flush", data=b"{}", method="POST")
    with urllib.request.urlopen(request, timeout=60):
        pass


def _put(stack_env: dict[str, str], records: list[list[dict[str, str]]]) -> None:
    runtime = boto3.client("sagemaker-featurestore-runtime")
    for record in records:
        runtime.put_record(FeatureGroupName="featurestream-customers", Record=record)


def _csv(args: list[str]) -> list[dict[str, str]]:
    result = CliRunner().invoke(cli, ["offline", *args, "--format", "csv"])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stdout.splitlines() if line and "row(s);" not in line]
    return list(csv.DictReader(io.StringIO("\n".join(lines))))


def test_the_stack_registers_both_tables_and_serves_athena(
    local_stack: DevStack, local_stack_env: dict[str, str]
) -> None:
    assert local_stack_env["AWS_ENDPOINT_URL_ATHENA"] == local_stack.athena().url()
    sagemaker, glue = boto3.client("sagemaker"), boto3.client("glue")
    for group in ("featurestream-customers", "featurestream-orders"):
        config = sagemaker.describe_feature_group(FeatureGroupName=group)["OfflineStoreConfig"]
        table = glue.get_table(
            DatabaseName="sagemaker_featurestore", Name=config["DataCatalogConfig"]["TableName"]
        )["Table"]
        assert (
            table["StorageDescriptor"]["Location"]
            == config["S3StorageConfig"]["ResolvedOutputS3Uri"]
        )
    workgroup = boto3.client("athena").get_work_group(WorkGroup="featurestream-offline")
    assert workgroup["WorkGroup"]["Configuration"]["EnforceWorkGroupConfiguration"] is True


def test_query_expands_short_names_and_reports_the_run(
    local_stack: DevStack, local_stack_env: dict[str, str], ids: str
) -> None:
    _put(local_stack_env, [_customer(f"{ids}-1", "2024-03-01T00:00:00Z", sex="0")])
    _flush(local_stack)
    sql = f"SELECT customer_id, sex, is_deleted FROM {{customers}} WHERE customer_id = '{ids}-1'"
    result = CliRunner().invoke(cli, ["offline", "query", sql, "--format", "csv"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[:2] == ["customer_id,sex,is_deleted", f"{ids}-1,0,False"]
    assert "1 row(s); scanned" in result.stderr
    assert "engine" in result.stderr


def test_views_latest_known_at_and_dedup(
    local_stack: DevStack, local_stack_env: dict[str, str], ids: str
) -> None:
    first = _customer(f"{ids}-a", "2024-01-01T00:00:00Z", sex="0")
    # a redelivery: two offline rows of one event; its time-relative feature is recomputed
    # when it is written again, so the copies differ in value, not only in write time
    again = _customer(f"{ids}-a", "2024-01-01T00:00:00Z", sex="0", n_days_active="0.6")
    _put(local_stack_env, [first, again])
    _flush(local_stack)
    time.sleep(0.05)
    cutoff = datetime.now(UTC).isoformat()
    time.sleep(0.05)
    # arrives after the cutoff, newer event time: online from now on, not before
    _put(local_stack_env, [_customer(f"{ids}-a", "2024-02-01T00:00:00Z", sex="1")])
    _flush(local_stack)

    def mine(rows: list[dict[str, str]]) -> list[dict[str, str]]:
        return [r for r in rows if r["customer_id"] == f"{ids}-a"]

    latest = mine(_csv(["view", "latest", "customers"]))
    assert [r["sex"] for r in latest] == ["1"]
    before = mine(_csv(["view", "latest", "customers", "--as-of", "2024-01-15T00:00:00Z"]))
    assert [r["sex"] for r in before] == ["0"]
    known = mine(_csv(["view", "known-at", "customers", "--known-at", cutoff]))
    assert [r["event_time"] for r in known] == ["2024-01-01T00:00:00Z"]
    now = datetime.now(UTC).isoformat()
    known_now = mine(_csv(["view", "known-at", "customers", "--known-at", now]))
    assert [r["event_time"] for r in known_now] == ["2024-02-01T00:00:00Z"]
    raw = mine(_csv(["query", "SELECT customer_id, event_time FROM {customers}"]))
    assert sorted(r["event_time"] for r in raw) == [
        "2024-01-01T00:00:00Z",
        "2024-01-01T00:00:00Z",
        "2024-02-01T00:00:00Z",
    ]
    deduplicated = mine(_csv(["view", "dedup", "customers"]))
    assert sorted((r["event_time"], r["n_days_active"]) for r in deduplicated) == [
        ("2024-01-01T00:00:00Z", "0.5"),  # the first written copy
        ("2024-02-01T00:00:00Z", "0.5"),
    ]


def test_deleted_records_leave_the_latest_view(
    local_stack: DevStack, local_stack_env: dict[str, str], ids: str
) -> None:
    _put(local_stack_env, [_customer(f"{ids}-d", "2024-01-01T00:00:00Z")])
    boto3.client("sagemaker-featurestore-runtime").delete_record(
        FeatureGroupName="featurestream-customers",
        RecordIdentifierValueAsString=f"{ids}-d",
        EventTime="2024-01-02T00:00:00Z",
    )
    _flush(local_stack)
    assert not [r for r in _csv(["view", "latest", "customers"]) if r["customer_id"] == f"{ids}-d"]
    before = _csv(["view", "latest", "customers", "--as-of", "2024-01-01T12:00:00Z"])
    assert [r["customer_id"] for r in before if r["customer_id"] == f"{ids}-d"] == [f"{ids}-d"]


def test_tables_lists_each_table_with_its_rows(
    local_stack: DevStack, local_stack_env: dict[str, str]
) -> None:
    result = CliRunner().invoke(cli, ["offline", "tables"])
    assert result.exit_code == 0, result.output
    assert "{customers}  sagemaker_featurestore.featurestream_customers_" in result.output
    assert "{orders}  sagemaker_featurestore.featurestream_orders_" in result.output
    stats = "{customer_order_stats}  sagemaker_featurestore.featurestream_customer_order_stats_"
    assert stats in result.output
    assert "partitions year, month, day, hour" in result.output


def test_the_stats_group_has_a_short_name_and_views(local_stack_env: dict[str, str]) -> None:
    rows = _csv(["query", "SELECT count(*) AS n FROM {customer_order_stats}"])
    assert len(rows) == 1 and int(rows[0]["n"]) >= 0
    result = CliRunner().invoke(cli, ["offline", "view", "latest", "customer-order-stats", "--sql"])
    assert result.exit_code == 0, result.output
    assert '"sagemaker_featurestore"."featurestream_customer_order_stats_' in result.output
    assert 'PARTITION BY "customer_id"' in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["query", "SELECT * FROM {nope}"],
            "unknown table short name {nope}; known: {customers}, {orders}, {customer_order_stats}",
        ),
        (["query", "SELEC 1"], "the query failed (Athena query id"),
        (["query", "SELECT * FROM missing_table"], "TABLE_NOT_FOUND"),
        (["query", "--file", "no/such.sql"], "no/such.sql: cannot read the SQL"),
        (["query", "SELECT 1", "--file", "x.sql"], "not both"),
        (["query", "SELECT 1", "--format", "parquet"], "needs -o"),
    ],
)
def test_errors_are_one_clear_line(
    local_stack_env: dict[str, str], args: list[str], message: str
) -> None:
    result = CliRunner().invoke(cli, ["offline", *args])
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output


def test_parquet_output(local_stack_env: dict[str, str], tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    out = tmp_path / "one.parquet"
    result = CliRunner().invoke(
        cli,
        ["offline", "query", "SELECT 1 AS one, 'x' AS s", "--format", "parquet", "-o", str(out)],
    )
    assert result.exit_code == 0, result.output
    assert pq.read_table(out).to_pylist() == [{"one": 1, "s": "x"}]


def test_the_tutorial_aggregate_runs_as_ctas_then_select_then_drop(
    local_stack: DevStack, local_stack_env: dict[str, str], ids: str
) -> None:
    sagemaker = boto3.client("sagemaker")
    orders = sagemaker.describe_feature_group(FeatureGroupName="featurestream-orders")
    filler = {"String": "x", "Integral": "0", "Fractional": "0.0"}
    amounts = {f"{ids}-1": ["0.25", "0.75"], f"{ids}-2": ["0.5"]}
    runtime = boto3.client("sagemaker-featurestore-runtime")
    for n, (cid, values) in enumerate((c, v) for c, vs in amounts.items() for v in vs):
        record = {d["FeatureName"]: filler[d["FeatureType"]] for d in orders["FeatureDefinitions"]}
        record.update(
            order_id=f"{ids}-O{n}",
            customer_id=cid,
            event_time=f"2024-04-0{n + 1}T00:00:00Z",
            purchase_amount=values,
            is_reordered=str(n % 2),
        )
        runtime.put_record(
            FeatureGroupName="featurestream-orders",
            Record=[{"FeatureName": k, "ValueAsString": v} for k, v in record.items()],
        )
    _flush(local_stack)
    table = f"agg_{ids.lower()}"
    ctas = CliRunner().invoke(
        cli,
        [
            "offline",
            "query",
            f"CREATE TABLE {table} AS SELECT customer_id, COUNT(*) AS total_orders, "
            "AVG(purchase_amount) AS avg_amount, AVG(is_reordered) AS reorder_rate "
            f"FROM {{orders}} WHERE customer_id LIKE '{ids}-%' GROUP BY customer_id",
        ],
    )
    assert ctas.exit_code == 0, ctas.output
    assert "DDL statement done; 2 row(s) written;" in ctas.stderr
    rows = _csv(["query", f"SELECT * FROM {table} ORDER BY customer_id"])
    assert rows == [
        {
            "customer_id": f"{ids}-1",
            "total_orders": "2",
            "avg_amount": "0.5",
            "reorder_rate": "0.5",
        },
        {
            "customer_id": f"{ids}-2",
            "total_orders": "1",
            "avg_amount": "0.5",
            "reorder_rate": "0.0",
        },
    ]
    dropped = CliRunner().invoke(cli, ["offline", "query", f"DROP TABLE {table}"])
    assert dropped.exit_code == 0, dropped.output
    gone = CliRunner().invoke(cli, ["offline", "query", f"SELECT * FROM {table}"])
    assert gone.exit_code != 0 and "TABLE_NOT_FOUND" in gone.output


def test_query_results_never_hold_up_local_down(
    local_stack: DevStack, local_stack_env: dict[str, str]
) -> None:
    """Results are disposable (AWS expires them): `local down` counts them as nothing lost."""
    result = CliRunner().invoke(cli, ["offline", "query", "SELECT 1 AS one", "--format", "csv"])
    assert result.exit_code == 0, result.output
    bucket = "featurestream-athenaresultsbucket"
    assert boto3.client("s3").list_objects_v2(Bucket=bucket)["KeyCount"] > 0
    assert [u for u in local_stack.unsaved() if u.name == bucket] == []
