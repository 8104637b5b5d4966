"""The online customer-order-stats equal the tutorial's aggregate SQL on the offline store.

60 customers of raw/ are replayed twice through the local stack (Kinesis, the trigger
runner, the real handlers with their DynamoDB state, the emulator), so every order has two
rows in the offline ``orders`` table. The tutorial's ``COUNT(*)``/``AVG(purchase_amount)``/
``AVG(is_reordered)`` over that table, each ``order_id`` once, run through
``featurestream offline``'s session (Athena's API, the stand-in, DuckDB), must equal every
customer's online record and a pandas group-by of the raw rows, within 1e-9.
"""

import time
import urllib.request
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3
import pandas as pd
import pytest

from devstack.rigs.aggregates_check import (
    TOLERANCE,
    compare_offline,
    expected_from_offline,
    expected_from_orders,
    online_records,
)
from devstack.rigs.chaos.workload import cut_raw
from devstack.stack.deployment import DevStack
from featurestream.contract.params import load_params
from featurestream_cli.commands.offline import OfflineSession
from producers.replay import ReplayOptions, run_replay
from producers.streams import StreamNames

REPO = Path(__file__).resolve().parents[3]
FIRST, COUNT = 8001, 60  # customers of their own: other tests use C1.., C101.., C7001..
STATS = "featurestream-customer-order-stats"


def _replay_and_wait(stack: DevStack, customers: Path, orders: Path, work: Path) -> int:
    """Replay the two CSVs and wait until the consumers processed every event sent."""
    before = sum(f["totals"]["records_processed"] for f in stack.watch()["functions"].values())
    summary = run_replay(
        ReplayOptions(
            customers=customers,
            orders=orders,
            streams=StreamNames.from_env(),
            failed_file=work / "failed.jsonl",
        )
    )
    assert summary.failed == 0
    deadline = time.monotonic() + 120
    while True:
        status = stack.watch()
        done = sum(f["totals"]["records_processed"] for f in status["functions"].values())
        if done - before >= summary.sent and status["caught_up"]:
            return summary.sent
        assert time.monotonic() < deadline, "consumers did not catch up"
        time.sleep(0.2)


@pytest.fixture(scope="module")
def replayed_twice(
    local_stack: DevStack, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, set[str]]:
    work = tmp_path_factory.mktemp("offline-aggregates")
    ids = {f"C{n}" for n in range(FIRST, FIRST + COUNT)}
    customers, orders = cut_raw(REPO / "raw", ids, work)
    with pytest.MonkeyPatch.context() as patch:
        for key, value in local_stack.environment().items():
            patch.setenv(key, value)
        for _ in range(2):  # the second pass redelivers every order
            _replay_and_wait(local_stack, customers, orders, work)
    url = local_stack.featurestore().url()
    flush = urllib.request.Request(f"{url}/_emulator/flush", data=b"{}", method="POST")
    with urllib.request.urlopen(flush, timeout=120):
        pass
    return orders, ids


def _session() -> OfflineSession:
    return OfflineSession(
        "featurestream-customers", "featurestream-orders", "featurestream-offline", None
    )


def _ours(expected: dict[str, dict[str, Any]], ids: set[str]) -> dict[str, dict[str, Any]]:
    """Other tests of the session write other customers to the same tables."""
    return {customer: values for customer, values in expected.items() if customer in ids}


@pytest.mark.timeout(300)
def test_online_aggregates_equal_the_tutorial_sql_on_the_offline_store(
    replayed_twice: tuple[Path, set[str]], local_stack_env: dict[str, str]
) -> None:
    orders, ids = replayed_twice
    offline = _ours(expected_from_offline(_session(), load_params()), ids)
    online = online_records(boto3.client("sagemaker-featurestore-runtime"), STATS, ids)
    verdict = compare_offline(offline, online)
    assert verdict.exact, verdict.line()
    assert verdict.checked == len(offline) == len(online) > COUNT // 2
    # the offline SQL against the third computation: pandas over the raw rows
    batch = expected_from_orders(pd.read_csv(orders))
    assert offline.keys() == batch.keys()
    for customer, want in batch.items():
        got = offline[customer]
        assert got["total_orders"] == want["total_orders"], customer
        assert abs(got["avg_purchase_amount"] - want["avg_purchase_amount"]) <= TOLERANCE
        assert abs(got["reorder_rate"] - want["reorder_rate"]) <= TOLERANCE


@pytest.mark.timeout(300)
def test_the_offline_table_holds_every_order_twice_and_the_sql_counts_it_once(
    replayed_twice: tuple[Path, set[str]], local_stack_env: dict[str, str]
) -> None:
    orders, ids = replayed_twice
    listed = ", ".join(f"'{customer}'" for customer in sorted(ids))
    raw_rows = _session().run(
        f"SELECT count(*) FROM {{orders}} WHERE customer_id IN ({listed})"  # nosec B608  # ids built above
    )
    distinct = pd.read_csv(orders)["order_id"].nunique()
    assert raw_rows.rows[0][0] >= 2 * distinct  # the redelivery left a second row per order
    offline = _ours(expected_from_offline(_session(), load_params()), ids)
    assert sum(values["total_orders"] for values in offline.values()) == distinct


def test_a_wrong_or_missing_online_aggregate_is_reported() -> None:
    offline = {
        "C1": {
            "total_orders": 3,
            "avg_purchase_amount": 40.5,
            "avg_purchase_amount_scaled": 0.4,
            "reorder_rate": 1 / 3,
        },
        "C2": {
            "total_orders": 1,
            "avg_purchase_amount": 2.0,
            "avg_purchase_amount_scaled": 0.01,
            "reorder_rate": 0.0,
        },
    }
    exact = {
        "C1": {
            "total_orders": "3",
            "avg_purchase_amount": "40.5",
            "avg_purchase_amount_scaled": "0.4",
            "reorder_rate": repr(1 / 3),
        },
        "C2": {
            "total_orders": "1",
            "avg_purchase_amount": "2.0",
            "avg_purchase_amount_scaled": "0.01",
            "reorder_rate": "0.0",
        },
    }
    assert compare_offline(offline, exact).exact
    off = {**exact, "C1": {**exact["C1"], "avg_purchase_amount": "40.500001"}}
    assert compare_offline(offline, off).wrong == ["C1: avg_purchase_amount"]
    recounted = {**exact, "C2": {**exact["C2"], "total_orders": "2"}}
    assert compare_offline(offline, recounted).wrong == ["C2: total_orders"]
    extra = {**exact, "C3": exact["C2"]}  # online, but not in the offline store
    assert compare_offline(offline, extra).missing == ["C3"]
    assert compare_offline(offline, {"C1": exact["C1"]}).missing == ["C2"]


class _Answers:
    """Canned Athena answers: the versions query's, then the aggregate's."""

    def __init__(self, versions: list[tuple[str, str]], aggregates: list[tuple[Any, ...]]):
        self.answers = {"transform_version": versions, "FROM tutorial_aggregate_": aggregates}
        self.sql: list[str] = []

    def run(self, sql: str) -> Any:
        self.sql.append(sql)
        rows = next((rows for key, rows in self.answers.items() if key in sql), [])
        names = ["customer_id", "total_orders", "avg_purchase_amount", "reorder_rate"]
        return SimpleNamespace(columns=[SimpleNamespace(name=n) for n in names], rows=rows)


def test_a_scaled_average_is_unscaled_only_with_the_parameters_it_was_written_with() -> None:
    params = load_params()  # purchase_amount scaled from [1, 100] to [0, 1]
    scaler = params.scaler("purchase_amount")
    assert (scaler.data_min, scaler.data_max) == (1.0, 100.0)
    session = _Answers(
        [("C1", params.version), ("C2", params.version), ("C2", "minmax-other")],
        [("C1", 2, 0.5, 0.5), ("C2", 1, 0.25, 1.0)],
    )
    expected = expected_from_offline(session, params)
    ctas, select, drop = session.sql[1:]  # as the tutorial runs it, and the table dropped
    assert ctas.startswith("CREATE TABLE tutorial_aggregate_") and "AVG(is_reordered)" in ctas
    assert select == f"SELECT * FROM {ctas.split()[2]}"
    assert drop == f"DROP TABLE IF EXISTS {ctas.split()[2]}"
    assert expected["C1"] == {
        "total_orders": 2,
        "avg_purchase_amount_scaled": 0.5,
        "avg_purchase_amount": 50.5,  # 0.5 * 99 + 1
        "reorder_rate": 0.5,
    }
    assert expected["C2"]["avg_purchase_amount"] is None
    online = {
        "C2": {
            "total_orders": "1",
            "avg_purchase_amount": "25.75",
            "avg_purchase_amount_scaled": "0.25",
            "reorder_rate": "1.0",
        }
    }
    verdict = compare_offline(expected, online, ["C2"])
    assert verdict.wrong == ["C2: avg_purchase_amount (other transform_version)"]
