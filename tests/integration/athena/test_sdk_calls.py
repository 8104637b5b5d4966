"""What the SageMaker SDK's ``FeatureGroup.athena_query()`` does, call for call, against the
local stack: the SDK itself is not installed (docs/offline.md says why), so these are the
boto3 calls its ``AthenaQuery.run``/``wait``/``as_dataframe`` make, in its order, with its
arguments: DescribeFeatureGroup for the DataCatalogConfig; StartQueryExecution with the
catalog and database as QueryExecutionContext and the caller's output location; polling
GetQueryExecution; then S3 GetObject of ``<prefix>/<QueryExecutionId>.csv`` read by
``pandas.read_csv``."""

import tempfile
import time
import urllib.request
import uuid
from pathlib import Path
from urllib.parse import urlparse

import boto3
import pandas as pd

from devstack.stack.deployment import DevStack
from devstack.stack.template import Template, local_stack


def _results_bucket() -> str:
    template = Template.load(Path(__file__).resolve().parents[3] / "template.yaml")
    return str(local_stack(template).refs["AthenaResultsBucket"])


def test_the_sdk_athena_query_calls_return_the_tutorial_join(
    local_stack: DevStack, local_stack_env: dict[str, str]
) -> None:
    cid, oid = f"S{uuid.uuid4().hex[:8]}", f"SO{uuid.uuid4().hex[:8]}"
    runtime = boto3.client("sagemaker-featurestore-runtime")
    customer = {
        "customer_id": cid,
        "sex": "1",
        "is_married": "1",
        "age_18-29": "1",
        "age_30-39": "0",
        "age_40-49": "0",
        "age_50-59": "0",
        "age_60-69": "0",
        "age_70-plus": "0",
        "n_days_active": "0.25",
        "active_since": "2021-05-01T00:00:00.000Z",
        "event_time": "2021-05-01T00:00:00.000Z",
        "transform_version": "test",
    }
    order = {
        "customer_id": cid,
        "order_id": oid,
        "product_id": "P1",
        "purchase_amount": "0.5",
        "is_reordered": "1",
        "n_days_since_last_purchase": "0.1",
        "purchased_on": "2021-06-01T00:00:00.000Z",
        "event_time": "2021-06-01T00:00:00.000Z",
        "transform_version": "test",
    }
    for group, values in (("featurestream-customers", customer), ("featurestream-orders", order)):
        runtime.put_record(
            FeatureGroupName=group,
            Record=[{"FeatureName": k, "ValueAsString": v} for k, v in values.items()],
        )
    flush = urllib.request.Request(
        f"{local_stack.featurestore().url()}/_emulator/flush", data=b"{}", method="POST"
    )
    with urllib.request.urlopen(flush, timeout=60):
        pass

    # FeatureGroup.athena_query(): DescribeFeatureGroup -> AthenaQuery(catalog, database, table)
    sagemaker = boto3.client("sagemaker")
    catalogs = {
        g: sagemaker.describe_feature_group(FeatureGroupName=f"featurestream-{g}")[
            "OfflineStoreConfig"
        ]["DataCatalogConfig"]
        for g in ("customers", "orders")
    }
    c_table, o_table = catalogs["customers"]["TableName"], catalogs["orders"]["TableName"]
    query = (
        f'SELECT * FROM "{c_table}" c JOIN "{o_table}" o ON c.customer_id = o.customer_id '
        f"WHERE c.customer_id = '{cid}'"
    )
    output_location = f"s3://{_results_bucket()}/sdk-queries"
    athena = boto3.client("athena")
    # AthenaQuery.run -> Session.start_query_execution (primary workgroup: no WorkGroup given)
    query_id = athena.start_query_execution(
        QueryString=query,
        QueryExecutionContext={
            "Catalog": catalogs["customers"]["Catalog"],
            "Database": catalogs["customers"]["Database"],
        },
        ResultConfiguration={"OutputLocation": output_location},
    )["QueryExecutionId"]
    # AthenaQuery.wait -> Session.wait_for_athena_query: poll while QUEUED or RUNNING
    deadline = time.monotonic() + 60
    while True:
        state = athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]["Status"][
            "State"
        ]
        if state not in ("QUEUED", "RUNNING"):
            break
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert state == "SUCCEEDED"
    # AthenaQuery.as_dataframe -> Session.download_athena_query_result -> pd.read_csv
    parsed = urlparse(output_location, allow_fragments=False)
    with tempfile.TemporaryDirectory() as folder:
        filename = str(Path(folder) / f"{query_id}.csv")
        boto3.client("s3").download_file(
            parsed.netloc, f"{parsed.path.strip('/')}/{query_id}.csv", filename
        )
        frame = pd.read_csv(filename, delimiter=",")
    assert len(frame) == 1
    row = frame.iloc[0]
    assert row["customer_id"] == cid
    assert row["order_id"] == oid
    assert row["purchase_amount"] == 0.5
    assert row["age_18-29"] == 1
    assert bool(row["is_deleted"]) is False
