"""The drift Lambda's Athena path: request shapes (botocore Stubber, validation on), the SQL
it sends, and PSI from the counts Athena answers, checked against the formula by hand."""

import json
import math
from datetime import UTC, datetime, timedelta

import botocore.session
import pytest
from botocore.stub import Stubber

from featurestream.contract.catalog import ORDERS
from featurestream.contract.model_contract import DEFAULT_CONTRACT_PATH
from featurestream.monitoring.athena_drift import (
    Athena,
    TimeWindow,
    categorical_counts_sql,
    continuous_counts_sql,
    edges_sql,
    group_drift,
)
from featurestream.offline.athena import QueryFailed

BASELINE = TimeWindow(None, datetime(2022, 1, 1, tzinfo=UTC))
CURRENT = TimeWindow(datetime(2026, 11, 29, tzinfo=UTC), datetime(2026, 12, 6, tzinfo=UTC))


def athena_client():
    session = botocore.session.get_session()
    return session.create_client(
        "athena", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )


def test_the_sql_quotes_names_and_formats_the_window():
    sql = continuous_counts_sql("orders_1700000000", "purchase_amount", [0.25, 0.5], CURRENT)
    assert sql == (
        'SELECT count_if("purchase_amount" IS NOT NULL AND "purchase_amount" < 0.25), '
        'count_if("purchase_amount" IS NOT NULL AND "purchase_amount" >= 0.25 AND '
        '"purchase_amount" < 0.5), '
        'count_if("purchase_amount" IS NOT NULL AND "purchase_amount" >= 0.5), '
        'avg(CAST("purchase_amount" AS double)) FROM "orders_1700000000" WHERE NOT is_deleted '
        "AND from_iso8601_timestamp(event_time) >= "
        "from_iso8601_timestamp('2026-11-29T00:00:00.000Z') "
        "AND from_iso8601_timestamp(event_time) < from_iso8601_timestamp('2026-12-06T00:00:00.000Z')"
    )
    assert "approx_percentile" in edges_sql("t", "purchase_amount", BASELINE)
    assert "GROUP BY 1" in categorical_counts_sql("t", "is_reordered", BASELINE)
    with pytest.raises(ValueError):
        edges_sql("t; DROP TABLE x", "purchase_amount", BASELINE)


def answer(stub, query_id, rows, state="SUCCEEDED"):
    stub.add_response(
        "start_query_execution",
        {"QueryExecutionId": query_id},
        {
            "QueryString": stub_any(),
            "WorkGroup": "wg",
            "QueryExecutionContext": {
                "Database": "sagemaker_featurestore",
                "Catalog": "AwsDataCatalog",
            },
        },
    )
    stub.add_response(
        "get_query_execution",
        {"QueryExecution": {"QueryExecutionId": query_id, "Status": {"State": state}}},
        {"QueryExecutionId": query_id},
    )
    if state != "SUCCEEDED":
        return
    header = [{"Data": [{"VarCharValue": f"_col{i}"} for i in range(len(rows[0]) if rows else 1)]}]
    stub.add_response(
        "get_query_results",
        {
            "ResultSet": {
                "Rows": header
                + [
                    {"Data": [{"VarCharValue": v} if v is not None else {} for v in row]}
                    for row in rows
                ]
            }
        },
        {"QueryExecutionId": query_id, "MaxResults": 1000},
    )


def stub_any():
    from botocore.stub import ANY

    return ANY


def test_psi_per_feature_from_athenas_counts():
    client = athena_client()
    athena = Athena(client, workgroup="wg", database="sagemaker_featurestore", sleep=lambda s: None)
    with Stubber(client) as stub:
        # purchase_amount: one inner edge, counts 50/50 then 80/20, current mean 0.6
        answer(stub, "q1", [["[0.5]"]])
        answer(stub, "q2", [["50", "50", "0.5"]])
        answer(stub, "q3", [["20", "80", "0.6"]])
        # is_reordered: 0/1 in 50/50, then 50/50 again
        answer(stub, "q4", [["0", "10"], ["1", "10"]])
        answer(stub, "q5", [["0", "5"], ["1", "5"]])
        # n_days_since_last_purchase: no current rows -> left out
        answer(stub, "q6", [["[0.3]"]])
        answer(stub, "q7", [["5", "5", "0.3"]])
        answer(stub, "q8", [["0", "0", None]])
        figures = group_drift(athena, ORDERS, "orders_1", BASELINE, CURRENT)
        stub.assert_no_pending_responses()
    by_name = {f.feature: f for f in figures}
    by_hand = (0.8 - 0.5) * math.log(0.8 / 0.5) + (0.2 - 0.5) * math.log(0.2 / 0.5)
    assert by_name["purchase_amount"].psi == pytest.approx(by_hand)
    assert by_name["purchase_amount"].current_mean == 0.6
    assert by_name["is_reordered"].psi == pytest.approx(0.0)
    assert by_name["is_reordered"].current_mean == 0.5
    assert set(by_name) == {"purchase_amount", "is_reordered"}


def test_a_failed_query_is_an_error_with_athenas_reason():
    client = athena_client()
    athena = Athena(client, workgroup="wg", database="sagemaker_featurestore", sleep=lambda s: None)
    with Stubber(client) as stub:
        answer(stub, "q1", [], state="FAILED")
        with pytest.raises(QueryFailed, match="q1 FAILED"):
            athena.rows("SELECT 1")


def test_the_scheduled_checks_baseline_is_the_shipped_manifests_training_window():
    from handlers.drift_monitor import training_window

    recorded = json.loads(DEFAULT_CONTRACT_PATH.read_text())["metadata"]["training_window"]
    first = datetime.fromisoformat(recorded["first_label_time"])
    last = datetime.fromisoformat(recorded["last_label_time"])
    assert training_window() == TimeWindow(first, last + timedelta(milliseconds=1))
    assert "from_iso8601_timestamp('2021-12-31T23:58:25.001Z')" in training_window().where()
