"""Training from the offline store: after a replay through the local stack, the training set
built with SQL over the offline tables equals the one built from the same raw/ rows, row
for row, and so it does after a chaos run (duplicates, a whole batch re-sent, shuffled order,
partial puts, throttled store writes redelivered); a feature row stamped after its label never
joins; a write-time cutoff excludes a late event before it was written and includes it
after."""

import json
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from devstack.rigs.chaos.figures import Figures, table
from devstack.rigs.chaos.plan import FaultPlan
from devstack.rigs.chaos.runner import RunSettings, ScenarioRunner
from devstack.rigs.chaos.verify import check_online, newest_events
from devstack.rigs.chaos.workload import cut_raw, read_slice
from devstack.stack.deployment import DevStack
from featurestream.contract.params import load_params
from featurestream.contract.transforms import features_for, to_record
from featurestream.offline.athena import run_query
from featurestream.offline.tables import describe_table, expand
from featurestream_cli.main import cli
from producers.faults import PartialFailureKinesis
from producers.publisher import EventPublisher, make_kinesis_client
from producers.replay import ReplayOptions, run_replay
from producers.streams import StreamNames
from training.dataset import TrainingRow, build_training_rows
from training.history import read_history
from training.offline_store import content_hash, pit_query, rows_from_result

REPO = Path(__file__).resolve().parents[3]
FIRST, COUNT = 7001, 150  # customers of their own: other tests use C1.. and Q... ids
CHAOS_FIRST = 7501  # the chaos run's own 150 customers: its extra rows touch no other test's
CHAOS_PLAN = FaultPlan(
    "offline-training",
    shuffle=True,  # the whole slice in random order, within and across batches and streams
    duplicate=0.10,  # a tenth of the events sent again at a random later position
    partial_put=0.10,  # PutRecords entries failed inside a 200, resent by the publisher
    store_throttle=0.10,  # store writes throttled, retried by the handler
    kill_worker=True,  # a handler worker SIGKILLed mid-batch: the batch is redelivered whole
)
RESENT_BATCH = 500
"""Events of a batch the producer re-sends whole, after it saw a partial failure (the
entries Kinesis had already accepted go in a second time)."""


def _flush(stack: DevStack) -> None:
    url = stack.featurestore().url()
    request = urllib.request.Request(f"{url}/_emulator/flush", data=b"{}", method="POST")
    with urllib.request.urlopen(request, timeout=120):
        pass


def _offline_rows(ids: set[str], as_known_at: datetime | None = None) -> list[TrainingRow]:
    sagemaker = boto3.client("sagemaker")
    tables = {
        "customers": describe_table(sagemaker, "featurestream-customers"),
        "orders": describe_table(sagemaker, "featurestream-orders"),
    }
    result = run_query(
        expand(pit_query(as_known_at), tables),
        database="sagemaker_featurestore",
        workgroup="featurestream-offline",
        client=boto3.client("athena"),
    )
    return rows_from_result(result, load_params(), ids)


def _assert_equal(got: list[TrainingRow], want: list[TrainingRow]) -> None:
    def key(r: TrainingRow) -> tuple[str, str]:
        return (r.customer_id, r.order_id)

    got_by, want_by = {key(r): r for r in got}, {key(r): r for r in want}
    assert len(got_by) == len(got)
    assert set(got_by) == set(want_by)
    for k, row in want_by.items():
        other = got_by[k]
        assert other.as_of == row.as_of, k
        assert other.label == row.label, k
        assert other.features == pytest.approx(row.features, abs=1e-9, rel=0), k


def _processed(stack: DevStack) -> int:
    return sum(f["totals"]["records_processed"] for f in stack.watch()["functions"].values())


def _wait_processed(stack: DevStack, before: int, sent: int) -> None:
    """Until the handlers have processed ``sent`` records more than ``before`` and every
    consumer caught up (an error after two minutes)."""
    deadline = time.monotonic() + 120
    while True:
        status = stack.watch()
        done = sum(f["totals"]["records_processed"] for f in status["functions"].values())
        if done - before >= sent and status["caught_up"]:
            return
        assert time.monotonic() < deadline, "consumers did not catch up"
        time.sleep(0.2)


@pytest.fixture(scope="module")
def replayed(
    local_stack: DevStack, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Path, set[str]]:
    """The subset's events replayed through Kinesis, the handlers and the emulator, then
    moved to Parquet."""
    env = local_stack.environment()
    work = tmp_path_factory.mktemp("offline-training")
    ids = {f"C{n}" for n in range(FIRST, FIRST + COUNT)}
    customers, orders = cut_raw(REPO / "raw", ids, work)
    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        before = _processed(local_stack)
        summary = run_replay(
            ReplayOptions(
                customers=customers,
                orders=orders,
                streams=StreamNames.from_env(),
                failed_file=work / "failed.jsonl",
            )
        )
        assert summary.failed == 0
        _wait_processed(local_stack, before, summary.sent)
    _flush(local_stack)
    return customers, orders, ids


@pytest.fixture(scope="module")
def chaos_replayed(
    local_stack: DevStack, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Path, set[str], Figures]:
    """The same size of history replayed through the chaos rig's scenario runner (its
    shuffle, duplicates, producer partial failures, store throttling and a worker killed
    mid-batch, so a batch is redelivered), then one batch of
    it re-sent whole, as a producer does that retries a whole batch after a partial failure.
    Every event is older than the newest one its customer already has by then."""
    work = tmp_path_factory.mktemp("offline-training-chaos")
    ids = {f"C{n}" for n in range(CHAOS_FIRST, CHAOS_FIRST + COUNT)}
    valid = read_slice(REPO / "raw", ids, work)  # leaves the cut CSVs in work/
    customers, orders = work / "customers.csv", work / "orders.csv"
    with pytest.MonkeyPatch.context() as patch:
        for key, value in local_stack.environment().items():
            patch.setenv(key, value)
        runner = ScenarioRunner(local_stack, RunSettings(seed=19))
        started = datetime.now(UTC)
        figures = runner.run(CHAOS_PLAN, valid)
        print("\n" + table([figures]))  # shown with -s, and on failure
        batch = valid[len(valid) // 3 : len(valid) // 3 + RESENT_BATCH]
        before = _processed(local_stack)
        publisher = EventPublisher(
            StreamNames.from_env(),
            client=PartialFailureKinesis(make_kinesis_client(), 0.10, seed=19),
            flush_at_exit=False,
        )
        for event in batch:
            publisher.put_encoded(event)
        assert not publisher.flush()
        _wait_processed(local_stack, before, len(batch))
        online = check_online(
            runner.runtime,
            runner.groups,
            newest_events(valid),
            (started, datetime.now(UTC)),
            load_params(),
        )
        assert (online.missing, online.stale, online.wrong) == ([], [], [])  # newest wins
    _flush(local_stack)
    return customers, orders, ids, figures


@pytest.mark.timeout(300)
def test_offline_training_set_equals_the_raw_one(
    replayed: tuple[Path, Path, set[str]], local_stack_env: dict[str, str]
) -> None:
    customers, orders, ids = replayed
    want = build_training_rows(read_history(customers, orders), load_params())
    assert len(want) > COUNT  # several orders per customer
    _assert_equal(_offline_rows(ids), want)


@pytest.mark.timeout(300)
def test_the_offline_training_set_equals_the_raw_one_after_a_chaos_run(
    chaos_replayed: tuple[Path, Path, set[str], Figures], local_stack_env: dict[str, str]
) -> None:
    customers, orders, ids, figures = chaos_replayed
    assert figures.problems() == []  # nothing lost, nothing double-applied online
    assert figures.duplicates > 0 and figures.producer_retries > 0 and figures.store_faults > 0
    assert figures.redelivered > 0  # the killed worker's batch ran again
    assert figures.offline_extra > 0  # the offline store really holds repeated rows
    want = build_training_rows(read_history(customers, orders), load_params())
    assert len(want) > COUNT
    _assert_equal(_offline_rows(ids), want)


@pytest.mark.timeout(300)
def test_a_row_stamped_after_its_label_never_joins(
    replayed: tuple[Path, Path, set[str]], local_stack: DevStack, local_stack_env: dict[str, str]
) -> None:
    customers, orders, ids = replayed
    history = read_history(customers, orders)
    victim = f"C{FIRST}"
    profile = next(e for e in history.customers if e.customer_id == victim)
    future = profile.model_copy(
        update={
            "event_time": datetime(2099, 1, 1, tzinfo=UTC),
            "data": profile.data.model_copy(update={"is_married": not profile.data.is_married}),
        }
    )
    _, features = features_for(future, params=load_params(), as_of=datetime.now(UTC))
    boto3.client("sagemaker-featurestore-runtime").put_record(
        FeatureGroupName="featurestream-customers", Record=to_record(features)
    )
    _flush(local_stack)
    want = build_training_rows(history, load_params())
    got = _offline_rows(ids)
    _assert_equal(got, want)  # the planted row changed nothing
    assert any(r.customer_id == victim for r in got)


@pytest.mark.timeout(300)
def test_a_write_time_cutoff_excludes_a_late_event_until_it_was_written(
    replayed: tuple[Path, Path, set[str]], local_stack: DevStack, local_stack_env: dict[str, str]
) -> None:
    customers, orders, _ = replayed
    history = read_history(customers, orders)
    owner = f"C{FIRST + 1}"
    theirs = sorted(
        (e for e in history.orders if e.customer_id == owner), key=lambda e: e.event_time
    )
    assert len(theirs) >= 2
    first = theirs[0]
    late_time = (
        first.event_time.replace(microsecond=0) + (theirs[1].event_time - first.event_time) / 2
    )
    late = first.model_copy(
        update={
            "event_time": late_time,
            "data": first.data.model_copy(update={"order_id": "OLATE1", "purchased_on": late_time}),
        }
    )
    before = datetime.now(UTC)
    time.sleep(0.05)
    _, features = features_for(late, params=load_params(), as_of=datetime.now(UTC))
    boto3.client("sagemaker-featurestore-runtime").put_record(
        FeatureGroupName="featurestream-orders", Record=to_record(features)
    )
    _flush(local_stack)
    earlier = {r.order_id for r in _offline_rows({owner}, as_known_at=before)}
    later = {r.order_id for r in _offline_rows({owner}, as_known_at=datetime.now(UTC))}
    assert "OLATE1" not in earlier
    assert "OLATE1" in later
    assert later - earlier == {"OLATE1"}


@pytest.mark.timeout(300)
def test_train_from_the_offline_store_writes_the_dataset_and_manifest(
    replayed: tuple[Path, Path, set[str]], local_stack_env: dict[str, str], tmp_path: Path
) -> None:
    dataset = tmp_path / "set.parquet"
    result = CliRunner().invoke(
        cli,
        [
            "train",
            "--source",
            "offline-store",
            "--dataset",
            str(dataset),
            "--model-dir",
            str(tmp_path / "model"),
            "--no-lambda-contract",
        ],
    )
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "set.parquet.manifest.json").read_text())
    table = pq.read_table(dataset)
    assert manifest["row_count"] == table.num_rows > 0
    assert "{orders}" not in manifest["query"] and "JOIN" in manifest["query"]
    rows = [
        TrainingRow(
            r["customer_id"],
            r["order_id"],
            r["as_of"],
            tuple(
                v for k, v in r.items() if k not in ("customer_id", "order_id", "as_of", "label")
            ),
            r["label"],
        )
        for r in table.to_pylist()
    ]
    assert manifest["content_sha256"] == content_hash(rows)
    assert (tmp_path / "model" / "model.joblib").is_file()
