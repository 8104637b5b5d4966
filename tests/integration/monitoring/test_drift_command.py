"""``featurestream monitor drift`` end to end on the Feature Store emulator's offline files:
rows written with BatchWriteRecord, flushed to Parquet, read back with DuckDB by window.
The planted shift is drift (exit 1); the same data split in two is stable (exit 0)."""

import json
import uuid
from pathlib import Path

import boto3
import pytest
from click.testing import CliRunner

from featurestream.contract.catalog import ORDERS
from featurestream.contract.params import load_params
from featurestream.contract.transforms import features_for, to_record
from featurestream_cli.main import cli
from producers.sources import RowError, read_order_events
from raw.generate import generate

RAW = Path(__file__).resolve().parents[3] / "raw"
BASELINE_TIME = "2021-03-01T00:00:00.000Z"
CURRENT_TIME = "2021-09-01T00:00:00.000Z"
ROWS = 1500


def order_records(folder: Path, parity: int, event_time: str) -> list[list[dict[str, str]]]:
    """ORDERS records of customers with id parity ``parity``, dated ``event_time``."""
    params = load_params()
    records = []
    for row in read_order_events(folder / "orders.csv"):
        assert not isinstance(row, RowError)
        event = row.event
        if int(event.customer_id[1:]) % 2 != parity:
            continue
        features = features_for(event, params=params, as_of=event.event_time)[1]
        features["event_time"] = event_time
        features["customer_id"] = f"{event.customer_id}-{event.data.order_id}"  # keep every row
        records.append(to_record(features))
        if len(records) == ROWS:
            break
    return records


@pytest.fixture(scope="module")
def stores(featurestore_server, tmp_path_factory):
    """Two stacks' orders groups: one with the planted shift in its current window."""
    url = featurestore_server.endpoint_url
    session = boto3.Session(  # module scope: the autouse dummy credentials are not set yet
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )
    sm = session.client("sagemaker", endpoint_url=url)
    rt = session.client("sagemaker-featurestore-runtime", endpoint_url=url)
    drifted = tmp_path_factory.mktemp("drifted")
    generate(drifted, drifted=True)
    stacks = {}
    for name, current_source in (("stable", RAW), ("shifted", drifted)):
        stack = f"drift{name}{uuid.uuid4().hex[:6]}"
        group = f"{stack}-orders"
        sm.create_feature_group(
            FeatureGroupName=group,
            RecordIdentifierFeatureName=ORDERS.record_identifier,
            EventTimeFeatureName=ORDERS.event_time_feature,
            FeatureDefinitions=ORDERS.feature_definitions(),
            OnlineStoreConfig={"EnableOnlineStore": True},
            OfflineStoreConfig={"S3StorageConfig": {"S3Uri": "s3://offline-bucket/fs"}},
            RoleArn="arn:aws:iam::123456789012:role/featurestore",
        )
        rows = order_records(RAW, 1, BASELINE_TIME) + order_records(current_source, 0, CURRENT_TIME)
        for start in range(0, len(rows), 25):
            entries = [{"FeatureGroupName": group, "Record": r} for r in rows[start : start + 25]]
            response = rt.batch_write_record(Entries=entries)
            assert not response.get("Errors") and not response.get("UnprocessedEntries")
        stacks[name] = stack
    featurestore_server.flush_offline()
    return stacks, featurestore_server.config.offline_dir


def run(stack, offline_dir, report_dir, *extra):
    return CliRunner().invoke(
        cli,
        [
            "monitor", "drift", "--group", "orders", "--stack-name", stack,
            "--baseline", "2021-01-01/2021-06-01", "--current", "2021-06-01/2022-01-01",
            "--offline-dir", str(offline_dir), "--report-dir", str(report_dir), *extra,
        ],
    )  # fmt: skip


def test_the_planted_shift_is_drift_and_exits_1(stores, tmp_path):
    stacks, offline_dir = stores
    result = run(stacks["shifted"], offline_dir, tmp_path)
    assert result.exit_code == 1, result.output
    assert "orders     DRIFT" in result.output
    assert f"({ROWS} rows)" in result.output
    report = json.loads((tmp_path / "drift-orders.json").read_text())
    by_name = {f["feature"]: f for f in report["features"]}
    assert by_name["purchase_amount"]["status"] == "drift"
    assert by_name["purchase_amount"]["psi"] > 0.25
    assert by_name["is_reordered"]["status"] == "stable"
    assert report["baseline_window"] == "2021-01-01T00:00:00Z/2021-06-01T00:00:00Z"
    html = (tmp_path / "drift-orders.html").read_text()
    assert html.count('<svg class="chart"') == len(report["features"])


def test_the_same_data_split_in_two_is_stable_and_exits_0(stores, tmp_path):
    stacks, offline_dir = stores
    result = run(stacks["stable"], offline_dir, tmp_path)
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "drift-orders.json").read_text())
    assert report["status"] == "stable"
    assert all(f["psi"] < 0.1 for f in report["features"])


def test_thresholds_are_configurable(stores, tmp_path):
    stacks, offline_dir = stores
    result = run(stacks["shifted"], offline_dir, tmp_path, "--drift", "1000", "--watch", "999")
    assert result.exit_code == 0, result.output


def test_no_offline_files_is_an_error_naming_the_group_without_a_traceback(stores, tmp_path):
    _, offline_dir = stores
    result = run("nosuchstack", offline_dir, tmp_path)
    assert result.exit_code == 2
    assert "no offline files for feature group nosuchstack-orders" in result.output
    assert "Traceback" not in result.output


def test_a_bad_window_names_the_option(tmp_path):
    result = CliRunner().invoke(cli, ["monitor", "drift", "--current", "yesterday/now"])
    assert result.exit_code == 2
    assert "--current" in result.output and "window start" in result.output


def test_an_empty_window_is_an_error_not_drift(stores, tmp_path):
    stacks, offline_dir = stores
    result = CliRunner().invoke(
        cli,
        [
            "monitor", "drift", "--group", "orders", "--stack-name", stacks["stable"],
            "--current", "2030-01-01/", "--offline-dir", str(offline_dir),
            "--report-dir", str(tmp_path),
        ],
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "the current window 2030-01-01T00:00:00Z/ holds no offline rows" in result.output
