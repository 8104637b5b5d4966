"""The Athena stand-in through boto3: queries over the emulator's offline tables, typed and
paged as Athena answers, results in S3, failures as FAILED with a reason."""

import csv
import io
import json
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.fixtures.offline_stack import RESULTS_BUCKET, OfflineStack
from tests.integration.emulator.support import definitions, record

OUTPUT = f"s3://{RESULTS_BUCKET}/queries/"

ROLE = "arn:aws:iam::123456789012:role/athena-tests"  # an offline store needs its role


def _wait(athena: Any, query_id: str, timeout: float = 30.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        execution = athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]
        if execution["Status"]["State"] in ("SUCCEEDED", "FAILED", "CANCELLED"):
            return execution
        assert time.monotonic() < deadline, "query did not finish"
        time.sleep(0.05)


def _run(stack: OfflineStack, sql: str, **kwargs: Any) -> dict[str, Any]:
    athena = stack.client("athena")
    kwargs.setdefault("ResultConfiguration", {"OutputLocation": OUTPUT})
    query_id = athena.start_query_execution(
        QueryString=sql, QueryExecutionContext={"Database": "sagemaker_featurestore"}, **kwargs
    )["QueryExecutionId"]
    return _wait(athena, query_id)


@pytest.fixture(scope="module")
def tables(offline_stack: OfflineStack) -> dict[str, str]:
    """Two groups, a few records each (one customer written twice), flushed to Parquet."""
    sm = offline_stack.client("sagemaker")
    rt = offline_stack.client("sagemaker-featurestore-runtime")
    offline = {"S3StorageConfig": {"S3Uri": "s3://offline-bucket/fs"}}
    sm.create_feature_group(
        FeatureGroupName="athena-customers",
        RecordIdentifierFeatureName="customer_id",
        EventTimeFeatureName="event_time",
        FeatureDefinitions=definitions(
            customer_id="String", event_time="String", age="Integral", score="Fractional"
        ),
        OnlineStoreConfig={"EnableOnlineStore": True},
        OfflineStoreConfig=offline,
        RoleArn=ROLE,
    )
    sm.create_feature_group(
        FeatureGroupName="athena-orders",
        RecordIdentifierFeatureName="order_id",
        EventTimeFeatureName="event_time",
        FeatureDefinitions=definitions(
            order_id="String", customer_id="String", event_time="String", amount="Fractional"
        ),
        OnlineStoreConfig={"EnableOnlineStore": True},
        OfflineStoreConfig=offline,
        RoleArn=ROLE,
    )
    customers = [
        ("C1", "2024-01-01T10:00:00Z", "30", "0.5"),
        ("C2", "2024-01-02T11:00:00Z", "41", "0.25"),
        ("C1", "2024-01-03T12:00:00Z", "31", "0.75"),
    ]
    for cid, at, age, score in customers:
        rt.put_record(
            FeatureGroupName="athena-customers",
            Record=record(customer_id=cid, event_time=at, age=age, score=score),
        )
    orders = [
        ("O1", "C1", "2024-01-02T09:00:00Z", "10.5"),
        ("O2", "C2", "2024-01-03T09:00:00Z", "7"),
    ]
    for oid, cid, at, amount in orders:
        rt.put_record(
            FeatureGroupName="athena-orders",
            Record=record(order_id=oid, customer_id=cid, event_time=at, amount=amount),
        )
    offline_stack.emulator.flush_offline()
    return {
        name: sm.describe_feature_group(FeatureGroupName=f"athena-{name}")["OfflineStoreConfig"][
            "DataCatalogConfig"
        ]["TableName"]
        for name in ("customers", "orders")
    }


def _rows(
    athena: Any, query_id: str, page: int = 1000
) -> tuple[list[dict[str, Any]], list[list[str | None]]]:
    rows: list[list[str | None]] = []
    kwargs: dict[str, Any] = {"QueryExecutionId": query_id, "MaxResults": page}
    while True:
        answer = athena.get_query_results(**kwargs)
        info = answer["ResultSet"]["ResultSetMetadata"]["ColumnInfo"]
        rows += [[d.get("VarCharValue") for d in r["Data"]] for r in answer["ResultSet"]["Rows"]]
        if "NextToken" not in answer:
            return info, rows
        kwargs["NextToken"] = answer["NextToken"]


def test_join_is_typed_and_paged_as_athena_answers(
    offline_stack: OfflineStack, tables: dict[str, str]
) -> None:
    sql = (
        f"SELECT o.order_id, c.customer_id, c.age, c.score, o.amount, c.is_deleted, c.write_time "
        f'FROM "{tables["orders"]}" o JOIN "sagemaker_featurestore"."{tables["customers"]}" c '
        "ON o.customer_id = c.customer_id ORDER BY o.order_id, c.event_time"
    )
    execution = _run(offline_stack, sql)
    assert execution["Status"]["State"] == "SUCCEEDED", execution["Status"]
    assert execution["Statistics"]["DataScannedInBytes"] > 0
    info, rows = _rows(offline_stack.client("athena"), execution["QueryExecutionId"], page=2)
    assert [c["Type"] for c in info] == [
        "varchar",
        "varchar",
        "bigint",
        "double",
        "double",
        "boolean",
        "timestamp",
    ]
    assert rows[0] == [
        "order_id",
        "customer_id",
        "age",
        "score",
        "amount",
        "is_deleted",
        "write_time",
    ]
    assert [r[:6] for r in rows[1:]] == [
        ["O1", "C1", "30", "0.5", "10.5", "false"],
        ["O1", "C1", "31", "0.75", "10.5", "false"],
        ["O2", "C2", "41", "0.25", "7.0", "false"],
    ]
    assert all(len(r[6] or "") == len("2024-01-01 00:00:00.000") for r in rows[1:])


def test_results_csv_and_metadata_are_written_to_the_output_location(
    offline_stack: OfflineStack, tables: dict[str, str]
) -> None:
    execution = _run(
        offline_stack, f'SELECT customer_id, age FROM "{tables["customers"]}" ORDER BY age'
    )
    location = execution["ResultConfiguration"]["OutputLocation"]
    assert location == f"{OUTPUT}{execution['QueryExecutionId']}.csv"
    s3 = offline_stack.client("s3")
    key = location.split(f"s3://{RESULTS_BUCKET}/", 1)[1]
    body = s3.get_object(Bucket=RESULTS_BUCKET, Key=key)["Body"].read().decode()
    assert body.splitlines()[0] == '"customer_id","age"'
    assert list(csv.reader(io.StringIO(body))) == [
        ["customer_id", "age"],
        ["C1", "30"],
        ["C1", "31"],
        ["C2", "41"],
    ]
    meta = json.loads(s3.get_object(Bucket=RESULTS_BUCKET, Key=key + ".metadata")["Body"].read())
    assert [c["Type"] for c in meta["ColumnInfo"]] == ["varchar", "bigint"]


def test_partition_keys_are_strings_of_the_event_hour(
    offline_stack: OfflineStack, tables: dict[str, str]
) -> None:
    execution = _run(
        offline_stack,
        f'SELECT DISTINCT year, month, day, hour FROM "{tables["orders"]}" ORDER BY day',
    )
    info, rows = _rows(offline_stack.client("athena"), execution["QueryExecutionId"])
    assert {c["Type"] for c in info} == {"varchar"}
    assert rows[1:] == [["2024", "01", "02", "09"], ["2024", "01", "03", "09"]]


@pytest.mark.parametrize(
    ("sql", "reason"),
    [
        ("SELEC 1", "line 1:"),
        ("SELECT * FROM no_such_table", "TABLE_NOT_FOUND"),
        ("SELECT no_such_column FROM (SELECT 1 AS a)", "no_such_column"),
        ("CREATE TABLE x (a int)", "NOT_SUPPORTED"),
        ("SELECT * FROM read_text('/etc/hostname')", "Permission"),
        ("SELECT content FROM read_text('/etc/hostname')", "Permission"),
    ],
)
def test_a_query_it_cannot_run_ends_failed_with_the_reason(
    offline_stack: OfflineStack, tables: dict[str, str], sql: str, reason: str
) -> None:
    execution = _run(offline_stack, sql)
    status = execution["Status"]
    assert status["State"] == "FAILED"
    assert reason in status["StateChangeReason"]
    assert status["AthenaError"]["ErrorMessage"] == status["StateChangeReason"]
    with pytest.raises(ClientError) as raised:
        offline_stack.client("athena").get_query_results(
            QueryExecutionId=execution["QueryExecutionId"]
        )
    assert raised.value.response["Error"]["Code"] == "InvalidRequestException"


def test_a_missing_output_bucket_fails_the_query(offline_stack: OfflineStack) -> None:
    execution = _run(
        offline_stack, "SELECT 1", ResultConfiguration={"OutputLocation": "s3://no-such-bucket/x/"}
    )
    assert execution["Status"]["State"] == "FAILED"
    assert "no-such-bucket" in execution["Status"]["StateChangeReason"]


def test_an_enforcing_workgroup_sets_the_output_location(offline_stack: OfflineStack) -> None:
    athena = offline_stack.client("athena")
    athena.create_work_group(
        Name="enforced",
        Configuration={
            "ResultConfiguration": {"OutputLocation": f"s3://{RESULTS_BUCKET}/enforced/"},
            "EnforceWorkGroupConfiguration": True,
        },
    )
    assert athena.get_work_group(WorkGroup="enforced")["WorkGroup"]["Configuration"][
        "EnforceWorkGroupConfiguration"
    ]
    execution = _run(offline_stack, "SELECT 1 AS one", WorkGroup="enforced")
    assert execution["ResultConfiguration"]["OutputLocation"].startswith(
        f"s3://{RESULTS_BUCKET}/enforced/"
    )
    with pytest.raises(ClientError) as raised:
        athena.start_query_execution(QueryString="SELECT 1", WorkGroup="absent")
    assert raised.value.response["Error"]["Code"] == "InvalidRequestException"


def test_unknown_query_ids_are_refused(offline_stack: OfflineStack) -> None:
    with pytest.raises(ClientError) as raised:
        offline_stack.client("athena").get_query_execution(QueryExecutionId="nope-123")
    assert raised.value.response["Error"]["Code"] == "InvalidRequestException"


def test_reading_the_result_csv_gives_the_rows_the_pages_give(
    offline_stack: OfflineStack, tables: dict[str, str]
) -> None:
    from featurestream.offline.athena import run_query

    sql = (
        "SELECT customer_id, age, score, is_deleted, write_time, CAST(NULL AS varchar) AS nothing "
        f'FROM "{tables["customers"]}" ORDER BY customer_id, event_time'
    )
    kwargs = {
        "database": "sagemaker_featurestore",
        "output_location": OUTPUT,
        "client": offline_stack.client("athena"),
    }
    paged = run_query(sql, **kwargs)
    from_csv = run_query(sql, s3=offline_stack.client("s3"), **kwargs)
    assert from_csv.columns == paged.columns
    assert from_csv.rows == paged.rows
    assert paged.rows[0][:4] == ("C1", 30, 0.5, False)
    assert paged.rows[0][5] is None


def _group_with_two_months(offline_stack: OfflineStack, name: str) -> str:
    sm = offline_stack.client("sagemaker")
    rt = offline_stack.client("sagemaker-featurestore-runtime")
    sm.create_feature_group(
        FeatureGroupName=name,
        RecordIdentifierFeatureName="k",
        EventTimeFeatureName="t",
        FeatureDefinitions=definitions(k="String", t="String", v="Integral"),
        OfflineStoreConfig={"S3StorageConfig": {"S3Uri": "s3://offline-bucket/fs"}},
        RoleArn=ROLE,
    )
    for key, at, value in (("a", "2023-01-05T00:00:00Z", "1"), ("b", "2023-02-05T00:00:00Z", "2")):
        rt.put_record(FeatureGroupName=name, Record=record(k=key, t=at, v=value))
    offline_stack.emulator.flush_offline()
    described = sm.describe_feature_group(FeatureGroupName=name)
    return str(described["OfflineStoreConfig"]["DataCatalogConfig"]["TableName"])


def test_a_partition_filter_reads_only_its_partitions(offline_stack: OfflineStack) -> None:
    table = _group_with_two_months(offline_stack, "athena-pruned")
    files = offline_stack.emulator.config.offline_dir.rglob("*.parquet")
    february = [p for p in files if "athena-pruned" in str(p) and "month=02" in str(p)]
    assert len(february) == 1
    february[0].write_bytes(b"not parquet")  # only a query that opens it can notice
    january = _run(
        offline_stack, f"SELECT k, v FROM \"{table}\" WHERE year = '2023' AND month = '01'"
    )
    assert january["Status"]["State"] == "SUCCEEDED", january["Status"]
    _, rows = _rows(offline_stack.client("athena"), january["QueryExecutionId"])
    assert rows[1:] == [["a", "1"]]
    everything = _run(offline_stack, f'SELECT k FROM "{table}"')
    assert everything["Status"]["State"] == "FAILED"
    assert "Parquet" in everything["Status"]["StateChangeReason"]


def test_columns_added_later_read_as_null_in_older_files(offline_stack: OfflineStack) -> None:
    table = _group_with_two_months(offline_stack, "athena-evolved")
    sm = offline_stack.client("sagemaker")
    sm.update_feature_group(
        FeatureGroupName="athena-evolved", FeatureAdditions=definitions(w="String")
    )
    offline_stack.client("sagemaker-featurestore-runtime").put_record(
        FeatureGroupName="athena-evolved",
        Record=record(k="c", t="2023-03-05T00:00:00Z", v="3", w="new"),
    )
    offline_stack.emulator.flush_offline()
    execution = _run(offline_stack, f'SELECT k, w FROM "{table}" ORDER BY k')
    assert execution["Status"]["State"] == "SUCCEEDED", execution["Status"]
    _, rows = _rows(offline_stack.client("athena"), execution["QueryExecutionId"])
    assert rows[1:] == [["a", None], ["b", None], ["c", "new"]]
