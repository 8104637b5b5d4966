"""``featurestream backfill`` against the Feature Store emulator over real HTTP: what lands
online and offline, retries under throttling, clear errors for wrong groups and bad files,
and a run killed mid-way (SIGKILL) that ends, resumed from its checkpoint, where an
uninterrupted run ends."""

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest
from click.testing import CliRunner

from devstack.rigs.chaos.workload import cut_raw
from devstack.standins.featurestore.config import FaultConfig
from featurestream.contract.events import CustomerEvent, OrderEvent
from featurestream.contract.params import load_params
from featurestream.contract.transforms import features_for, value_as_string
from featurestream_cli.main import cli
from producers.backfill import BackfillOptions, run_backfill
from tests.integration.producers.backfill_support import (
    REPO,
    create_catalog_groups,
    offline_rows,
    online_state,
)
from training.history import read_history

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def exports(tmp_path: Path) -> tuple[Path, Path, set[str]]:
    """40 customers of raw/ and all their orders."""
    ids = {f"C{n}" for n in range(101, 141)}
    customers, orders = cut_raw(REPO / "raw", ids, tmp_path)
    return customers, orders, ids


@pytest.fixture
def clients(featurestore_env: str):
    return boto3.client("sagemaker"), boto3.client("sagemaker-featurestore-runtime")


def _newest(events):
    """The oracle: per customer the event with the greatest time; a tie keeps the first sent
    (the emulator's default: a write whose event time equals the stored one is not applied)."""
    newest = {}
    for event in sorted(events, key=lambda e: e.event_time):  # stable: file order among ties
        if (
            event.customer_id not in newest
            or event.event_time > newest[event.customer_id].event_time
        ):
            newest[event.customer_id] = event
    return newest


@pytest.mark.parametrize("offline_only", [True, False], ids=["offline-only-history", "both"])
def test_online_holds_each_records_newest_event_and_offline_one_row_per_event(
    featurestore_server, clients, exports, tmp_path, unique_name, offline_only
):
    sm, rt = clients
    customers_csv, orders_csv, ids = exports
    names = create_catalog_groups(sm, unique_name)
    as_of = datetime.now(UTC)
    summary = run_backfill(
        BackfillOptions(
            customers=customers_csv,
            orders=orders_csv,
            group_names=names,
            offline_only_history=offline_only,
            failed_file=tmp_path / "failed.jsonl",
            workers=4,
        ),
        as_of=as_of,
    )
    history = read_history(customers_csv, orders_csv)
    events: list[CustomerEvent | OrderEvent] = [*history.customers, *history.orders]
    assert summary.exit_code == 0 and summary.failed == 0
    assert summary.written == summary.entries == len(events)
    assert summary.calls >= len(events) / 25
    params = load_params()
    for kind, group_events in (("customers", history.customers), ("orders", history.orders)):
        expected = {
            cid: {
                name: value_as_string(value)
                for name, value in features_for(
                    event, params=params, as_of=max(as_of, event.event_time)
                )[1].items()
            }
            for cid, event in _newest(group_events).items()
        }
        assert online_state(rt, names[kind], ids) == expected
    featurestore_server.flush_offline()
    rows = [
        row
        for kind in ("customers", "orders")
        for row in offline_rows(featurestore_server.config.offline_dir, names[kind])
    ]
    assert len(rows) == len(events)
    assert Counter(r.get("order_id") for r in rows if "order_id" in r) == Counter(
        e.data.order_id for e in history.orders
    )


def test_throttling_is_retried_with_backoff_until_everything_is_written(
    featurestore_server, clients, exports, tmp_path, unique_name
):
    sm, rt = clients
    customers_csv, orders_csv, ids = exports
    names = create_catalog_groups(sm, unique_name)
    featurestore_server.faults = FaultConfig(
        throttle_rate=0.6, operations=frozenset({"BatchWriteRecord"}), seed=7
    )
    try:
        summary = run_backfill(
            BackfillOptions(
                customers=customers_csv,
                orders=orders_csv,
                group="orders",
                group_names=names,
                offline_only_history=True,
                failed_file=tmp_path / "failed.jsonl",
                attempts=10,
            )
        )
    finally:
        featurestore_server.faults = FaultConfig()
    assert summary.failed == 0, summary.lines()
    assert summary.retried > 0  # some calls were still throttled after botocore's retries
    assert summary.written == summary.entries
    assert set(online_state(rt, names["orders"], ids)) == ids & {
        o.data.customer_id for o in read_history(customers_csv, orders_csv).orders
    }
    assert not (tmp_path / "failed.jsonl").exists()


def test_what_keeps_failing_goes_to_the_failures_file_and_retry_failed_sends_it(
    featurestore_server, clients, exports, tmp_path, unique_name
):
    sm, rt = clients
    customers_csv, orders_csv, ids = exports
    names = create_catalog_groups(sm, unique_name)
    failed = tmp_path / "failed.jsonl"
    options = BackfillOptions(
        customers=customers_csv,
        orders=orders_csv,
        group="customers",
        group_names=names,
        failed_file=failed,
        attempts=1,
    )
    featurestore_server.faults = FaultConfig(
        throttle_rate=1.0, operations=frozenset({"BatchWriteRecord"})
    )
    try:
        summary = run_backfill(options)
    finally:
        featurestore_server.faults = FaultConfig()
    assert summary.exit_code == 1
    assert summary.failed == len(ids) and summary.written == 0
    lines = failed.read_text().splitlines()
    assert len(lines) == len(ids)
    assert {json.loads(line)["error"] for line in lines} == {"ThrottlingException"}
    assert online_state(rt, names["customers"], ids) == {}

    # a retry the store refuses outright keeps every entry in the file
    featurestore_server.faults = FaultConfig(
        error_rate=1.0,
        error_code="AccessDeniedException",
        error_status=403,
        operations=frozenset({"BatchWriteRecord"}),
    )
    try:
        stopped = run_backfill(
            BackfillOptions(group_names=names, failed_file=failed, retry_failed=True)
        )
    finally:
        featurestore_server.faults = FaultConfig()
    assert stopped.exit_code == 1 and "AccessDeniedException" in (stopped.error or "")
    assert len(failed.read_text().splitlines()) == len(ids)

    result = CliRunner().invoke(
        cli,
        [
            "backfill",
            "--retry-failed",
            "--failed-file",
            str(failed),
            "--customers-group",
            names["customers"],
            "--orders-group",
            names["orders"],
        ],
    )
    assert result.exit_code == 0, result.output
    assert f"written   {len(ids)} of {len(ids)} entries" in result.output
    assert not failed.exists()
    assert set(online_state(rt, names["customers"], ids)) == ids


def test_a_missing_group_is_one_clear_error(clients, exports, tmp_path):
    customers_csv, orders_csv, _ = exports
    result = CliRunner().invoke(
        cli,
        [
            "backfill",
            "--customers",
            str(customers_csv),
            "--orders",
            str(orders_csv),
            "--customers-group",
            "no-such-group",
            "--failed-file",
            str(tmp_path / "f.jsonl"),
        ],
    )
    assert result.exit_code == 1
    assert "feature group no-such-group does not exist" in result.output
    assert "Traceback" not in result.output


def test_a_group_whose_definitions_differ_from_the_catalog_is_refused(
    clients, exports, tmp_path, unique_name
):
    sm, rt = clients
    customers_csv, orders_csv, ids = exports
    names = create_catalog_groups(sm, unique_name)
    stale = f"{unique_name}-stale"[-64:].lstrip("-")
    sm.create_feature_group(
        FeatureGroupName=stale,
        RecordIdentifierFeatureName="customer_id",
        EventTimeFeatureName="event_time",
        FeatureDefinitions=[
            {"FeatureName": "customer_id", "FeatureType": "String"},
            {"FeatureName": "event_time", "FeatureType": "String"},
            {"FeatureName": "sex", "FeatureType": "String"},
        ],
        OnlineStoreConfig={"EnableOnlineStore": True},
        RoleArn="arn:aws:iam::123456789012:role/featurestore",
    )
    result = CliRunner().invoke(
        cli,
        [
            "backfill",
            "--customers",
            str(customers_csv),
            "--orders",
            str(orders_csv),
            "--customers-group",
            stale,
            "--orders-group",
            names["orders"],
            "--failed-file",
            str(tmp_path / "f.jsonl"),
        ],
    )
    assert result.exit_code == 1
    assert f"feature group {stale} does not match the catalog's customers group" in result.output
    assert "customers/sex: type changed from String" in result.output
    assert online_state(rt, names["orders"], ids) == {}  # checked before anything is written


def test_a_bad_file_names_file_line_and_field_without_traceback(
    clients, exports, tmp_path, unique_name
):
    sm, _ = clients
    _customers_csv, orders_csv, _ = exports
    names = create_catalog_groups(sm, unique_name)
    with orders_csv.open("a") as handle:
        handle.write("99999,O999999,C101,P1,SECRET-AMOUNT,0,2021-01-01 00:00:00,x\n")
    lines = len(orders_csv.read_text().splitlines())
    result = CliRunner().invoke(
        cli,
        [
            "backfill",
            "--orders",
            str(orders_csv),
            "--group",
            "orders",
            "--orders-group",
            names["orders"],
            "--on-error",
            "fail",
            "--failed-file",
            str(tmp_path / "f.jsonl"),
        ],
    )
    assert result.exit_code == 3
    assert f"{orders_csv}:{lines}: purchase_amount" in result.output
    assert "SECRET-AMOUNT" not in result.output and "Traceback" not in result.output
    headerless = tmp_path / "headerless.csv"
    headerless.write_text("a,b\n1,2\n")
    result = CliRunner().invoke(
        cli,
        [
            "backfill",
            "--orders",
            str(headerless),
            "--group",
            "orders",
            "--orders-group",
            names["orders"],
            "--failed-file",
            str(tmp_path / "f.jsonl"),
        ],
    )
    assert result.exit_code == 2
    assert str(headerless) in result.output and "Traceback" not in result.output


def _run_cli(args: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(  # nosec B603  # our own CLI, fixed arguments
        [sys.executable, "-m", "featurestream_cli", "backfill", *args],
        cwd=REPO,
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def test_a_backfill_killed_mid_run_resumes_from_its_checkpoint_to_the_same_state(
    featurestore_server, clients, exports, tmp_path, unique_name
):
    sm, rt = clients
    customers_csv, orders_csv, ids = exports
    killed = create_catalog_groups(sm, f"{unique_name}-k")
    whole = create_catalog_groups(sm, f"{unique_name}-w")
    checkpoint = tmp_path / "checkpoint.json"

    def args(names: dict[str, str], *extra: str) -> list[str]:
        return [
            "--customers",
            str(customers_csv),
            "--orders",
            str(orders_csv),
            "--customers-group",
            names["customers"],
            "--orders-group",
            names["orders"],
            "--offline-only-history",
            "--failed-file",
            str(tmp_path / "failed.jsonl"),
            "--workers",
            "2",
            "--chunk-entries",
            "100",
            *extra,
        ]

    featurestore_server.faults = FaultConfig(
        latency_ms=150.0, operations=frozenset({"BatchWriteRecord"})
    )
    try:
        process = _run_cli(args(killed, "--checkpoint", str(checkpoint)))
        deadline = time.monotonic() + 60
        while not checkpoint.exists() or json.loads(checkpoint.read_text())["position"] < 200:
            assert process.poll() is None, process.communicate()[0].decode()
            assert time.monotonic() < deadline, "no checkpoint written"
            time.sleep(0.02)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        featurestore_server.faults = FaultConfig()
    position = json.loads(checkpoint.read_text())["position"]
    history = read_history(customers_csv, orders_csv)
    total = len(history.customers) + len(history.orders)
    assert 200 <= position < total, "the kill must land mid-run"

    resumed = _run_cli(args(killed, "--checkpoint", str(checkpoint)))
    output = resumed.communicate(timeout=60)[0].decode()
    assert resumed.returncode == 0, output
    assert f"resumed   after {position} entries" in output
    uninterrupted = _run_cli(args(whole))
    output = uninterrupted.communicate(timeout=60)[0].decode()
    assert uninterrupted.returncode == 0, output

    for kind in ("customers", "orders"):
        assert online_state(rt, killed[kind], ids) == online_state(rt, whole[kind], ids)
    featurestore_server.flush_offline()
    for kind in ("customers", "orders"):
        after_kill = offline_rows(featurestore_server.config.offline_dir, killed[kind])
        clean = offline_rows(featurestore_server.config.offline_dir, whole[kind])
        key = lambda row: json.dumps(row, sort_keys=True, default=str)  # noqa: E731
        # every event is there; only the chunk in flight at the kill may be there twice
        assert {key(r) for r in after_kill} == {key(r) for r in clean}
        assert len(clean) <= len(after_kill) <= len(clean) + 100


def test_an_unreachable_store_stops_the_run_within_seconds(
    clients, exports, tmp_path, unique_name, monkeypatch
):
    from devstack.stack.process import free_port

    sm, _ = clients
    customers_csv, orders_csv, _ = exports
    names = create_catalog_groups(sm, unique_name)
    monkeypatch.setenv(
        "AWS_ENDPOINT_URL_SAGEMAKER_FEATURESTORE_RUNTIME", f"http://127.0.0.1:{free_port()}"
    )
    checkpoint = tmp_path / "checkpoint.json"
    started = time.monotonic()
    result = CliRunner().invoke(
        cli,
        [
            "backfill",
            "--customers",
            str(customers_csv),
            "--orders",
            str(orders_csv),
            "--customers-group",
            names["customers"],
            "--orders-group",
            names["orders"],
            "--checkpoint",
            str(checkpoint),
            "--failed-file",
            str(tmp_path / "f.jsonl"),
        ],
    )
    assert time.monotonic() - started < 30
    assert result.exit_code == 1
    assert "could not be reached" in result.output and "Traceback" not in result.output
    assert not checkpoint.exists()  # nothing was written: a rerun starts at the beginning
