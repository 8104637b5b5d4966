"""``featurestream monitor drift`` end to end through Athena's API: rows written to the
Feature Store emulator with BatchWriteRecord, flushed to Parquet, registered in Glue, and
read back by window through the Athena stand-in (the client ``featurestream offline query``
uses). The planted shift is drift (exit 1); the same data split in two is stable (exit 0)."""

import json
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner

from featurestream.contract.catalog import ORDERS
from featurestream.contract.model_contract import DEFAULT_CONTRACT_PATH
from featurestream.contract.params import load_params
from featurestream.contract.transforms import features_for, to_record
from featurestream_cli.main import cli
from producers.sources import RowError, read_order_events
from raw.generate import generate
from tests.fixtures.offline_stack import RESULTS_BUCKET, OfflineStack

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
def stores(offline_stack: OfflineStack, tmp_path_factory):
    """Two stacks' orders groups: one with the planted shift in its current window."""
    sm = offline_stack.client("sagemaker")
    rt = offline_stack.client("sagemaker-featurestore-runtime")
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
    offline_stack.emulator.flush_offline()
    return stacks


@pytest.fixture(autouse=True)
def endpoints(offline_stack: OfflineStack, monkeypatch: pytest.MonkeyPatch) -> None:
    """The command's clients find the stand-in, the emulator and moto's S3 as
    ``eval $(featurestream local env)`` would point them."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_ATHENA", offline_stack.athena.endpoint_url)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER", offline_stack.emulator.endpoint_url)
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", offline_stack.moto)


RESULTS = f"s3://{RESULTS_BUCKET}/drift/"


def run(stack, report_dir, *extra, windows=("--baseline", "2021-01-01/2021-06-01")):
    return CliRunner().invoke(
        cli,
        [
            "monitor", "drift", "--group", "orders", "--stack-name", stack, *windows,
            "--current", "2021-06-01/2022-01-01", "--workgroup", "primary",
            "--output-location", RESULTS, "--report-dir", str(report_dir), *extra,
        ],
    )  # fmt: skip


def test_the_planted_shift_is_drift_and_exits_1(stores, tmp_path):
    result = run(stores["shifted"], tmp_path)
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
    result = run(stores["stable"], tmp_path)
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "drift-orders.json").read_text())
    assert report["status"] == "stable"
    assert all(f["psi"] < 0.1 for f in report["features"])


def test_thresholds_are_configurable(stores, tmp_path):
    result = run(stores["shifted"], tmp_path, "--drift", "1000", "--watch", "999")
    assert result.exit_code == 0, result.output


def test_a_missing_group_is_an_error_naming_it_without_a_traceback(stores, tmp_path):
    result = run("nosuchstack", tmp_path)
    assert result.exit_code == 2
    assert "feature group nosuchstack-orders does not exist" in result.output
    assert "Traceback" not in result.output


def test_a_stack_that_is_not_running_is_one_clear_line(stores, tmp_path, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL_ATHENA", "http://127.0.0.1:9")  # nothing listens
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER", "http://127.0.0.1:9")
    result = run(stores["stable"], tmp_path)
    assert result.exit_code == 2
    assert "cannot reach Athena or SageMaker" in result.output
    assert "is the local stack up?" in result.output
    assert "Traceback" not in result.output


def test_a_bad_window_names_the_option(tmp_path):
    result = CliRunner().invoke(cli, ["monitor", "drift", "--current", "yesterday/now"])
    assert result.exit_code == 2
    assert "--current" in result.output and "window start" in result.output


def test_an_empty_window_is_an_error_not_drift(stores, tmp_path):
    result = run(stores["stable"], tmp_path, windows=("--baseline", "2030-01-01/"))
    assert result.exit_code == 2, result.output
    assert "the baseline window 2030-01-01T00:00:00Z/ holds no offline rows" in result.output


def manifest_with_window(folder: Path, first: str, last: str) -> Path:
    """A copy of the shipped model manifest whose training window is ``first``..``last``."""
    document = json.loads(DEFAULT_CONTRACT_PATH.read_text())
    document["metadata"]["training_window"] = {"first_label_time": first, "last_label_time": last}
    path = folder / "feature_list.json"
    path.write_text(json.dumps(document))
    return path


def test_the_default_baseline_is_the_manifests_training_window(stores, tmp_path):
    # the window ends at its last label time, inclusive: the baseline rows are dated exactly so
    manifest = manifest_with_window(tmp_path, "2021-02-01T00:00:00.000Z", BASELINE_TIME)
    result = run(stores["shifted"], tmp_path, windows=("--manifest", str(manifest)))
    assert result.exit_code == 1, result.output
    report = json.loads((tmp_path / "drift-orders.json").read_text())
    assert report["baseline_window"] == "2021-02-01T00:00:00Z/2021-03-01T00:00:00Z"
    assert f"({ROWS} rows)" in result.output.splitlines()[0].split("current")[0]


def test_an_explicit_baseline_wins_over_the_manifest(stores, tmp_path):
    manifest = manifest_with_window(
        tmp_path, "2030-01-01T00:00:00.000Z", "2030-02-01T00:00:00.000Z"
    )
    windows = ("--manifest", str(manifest), "--baseline", "2021-01-01/2021-06-01")
    result = run(stores["shifted"], tmp_path, windows=windows)
    assert result.exit_code == 1, result.output
    report = json.loads((tmp_path / "drift-orders.json").read_text())
    assert report["baseline_window"] == "2021-01-01T00:00:00Z/2021-06-01T00:00:00Z"


def test_a_manifest_without_a_window_asks_for_a_baseline(stores, tmp_path):
    document = json.loads(DEFAULT_CONTRACT_PATH.read_text())
    document["metadata"].pop("training_window", None)
    manifest = tmp_path / "old.json"
    manifest.write_text(json.dumps(document))
    result = run(stores["stable"], tmp_path, windows=("--manifest", str(manifest)))
    assert result.exit_code == 2
    assert "records no training window" in result.output and "--baseline" in result.output
