"""End to end on the local stack: CSV → replay → Kinesis → trigger runner → real handlers →
Feature Store, checked customer by customer against the batch reference for the same events.

A few hundred customers and their orders are cut from raw/ into temp CSVs. Two poison pills
(not JSON; JSON that breaks the event schema) are put on a shard among those customers'
events; they must land in the quarantine queue while every event behind them is processed.
"""

import json
import time
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest

from devstack.rigs.chaos.workload import cut_raw
from devstack.stack.deployment import DevStack
from featurestream.contract.events import CustomerEvent, OrderEvent
from featurestream.contract.params import load_params
from featurestream.contract.transforms import features_for, recency, tenure, value_as_string
from producers.replay import ReplayOptions, run_replay
from producers.streams import StreamNames
from training.history import read_history

REPO = Path(__file__).resolve().parents[2]
CUSTOMERS = 300
TIME_DEPENDENT = {"n_days_active", "n_days_since_last_purchase"}


def _subset(tmp_path: Path, first: int = 1) -> tuple[Path, Path, set[str]]:
    """Customers C<first>.. (CUSTOMERS of them) and every order of theirs, as CSVs like raw/.

    Each test on the shared stack takes its own customers: a record written by an earlier
    test with the same event time would stay online (a tie is not applied), holding
    time-relative features computed at that test's time."""
    keep = {f"C{n}" for n in range(first, first + CUSTOMERS)}
    customers, orders = cut_raw(REPO / "raw", keep, tmp_path)
    return customers, orders, keep


def _newest(
    events: list[CustomerEvent] | list[OrderEvent],
) -> dict[str, CustomerEvent | OrderEvent]:
    """The event the online store must hold per customer: newest event time, last sent wins."""
    newest: dict[str, CustomerEvent | OrderEvent] = {}
    for event in events:
        key = event.data.customer_id
        if key not in newest or event.event_time >= newest[key].event_time:
            newest[key] = event
    return newest


def _totals(stack: DevStack) -> tuple[int, int, bool]:
    status = stack.watch()  # a dead or failing part fails the test at once
    totals = [f["totals"] for f in status["functions"].values()]
    processed = sum(t["records_processed"] for t in totals)
    to_failure = sum(t["records_to_on_failure"] for t in totals)
    return processed, to_failure, bool(status["caught_up"])


def _drain(sqs, queue: str) -> list[dict]:
    url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
    bodies = []
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not got:
            return bodies
        for message in got:
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def _time_dependent_ok(
    name: str, stored: dict[str, str], bounds: tuple[datetime, datetime]
) -> bool:
    """n_days_* equals the transform as of some moment the handler ran (start..end)."""
    params = load_params()
    raw = stored["active_since" if name == "n_days_active" else "purchased_on"]
    moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    compute = tenure if name == "n_days_active" else recency
    allowed = {value_as_string(compute(moment, at, params)) for at in bounds}
    return stored[name] in allowed


@pytest.mark.timeout(120)
def test_replayed_events_land_as_the_batch_reference_and_poison_pills_are_quarantined(
    local_stack: DevStack, local_stack_env: dict[str, str], tmp_path: Path
) -> None:
    customers_csv, orders_csv, ids = _subset(tmp_path)
    history = read_history(customers_csv, orders_csv)
    sqs = boto3.client("sqs")
    kinesis = boto3.client("kinesis")
    runtime = boto3.client("sagemaker-featurestore-runtime")
    for queue in ("featurestream-quarantine", "featurestream-stream-failures"):
        _drain(sqs, queue)
    base_processed, base_failed, _ = _totals(local_stack)
    started = datetime.now(UTC)

    # Poison pills first, on the shard of a customer whose events follow them.
    pills = [b"not json {", json.dumps({"event_type": "customer.registered"}).encode()]
    for pill in pills:
        kinesis.put_record(StreamName="featurestream-customer-events", Data=pill, PartitionKey="C7")
    summary = run_replay(
        ReplayOptions(
            customers=customers_csv,
            orders=orders_csv,
            streams=StreamNames.from_env(),
            failed_file=tmp_path / "failed.jsonl",
        )
    )
    assert summary.failed == 0
    assert summary.sent == len(history.customers) + len(history.orders)
    expected_done = summary.sent + len(pills)

    deadline = time.monotonic() + 90
    while True:
        processed, failed, caught_up = _totals(local_stack)
        done = processed - base_processed + failed - base_failed
        if done >= expected_done and caught_up:
            break
        assert time.monotonic() < deadline, f"consumers stuck at {done}/{expected_done}"
        time.sleep(0.2)
    ended = datetime.now(UTC)
    assert failed == base_failed, "nothing may go to the on-failure destination"

    params = load_params()
    mismatches = []
    for group, events in (
        ("featurestream-customers", history.customers),
        ("featurestream-orders", history.orders),
    ):
        newest = _newest(events)
        assert set(newest) <= ids
        for customer_id, event in newest.items():
            _, features = features_for(event, params=params, as_of=started)
            got = runtime.get_record(
                FeatureGroupName=group, RecordIdentifierValueAsString=customer_id
            )
            stored = {f["FeatureName"]: f["ValueAsString"] for f in got.get("Record", [])}
            if not stored:
                mismatches.append((group, customer_id, "missing"))
                continue
            for name, value in features.items():
                if name in TIME_DEPENDENT:
                    if not _time_dependent_ok(name, stored, (started, ended)):
                        mismatches.append((group, customer_id, name))
                elif stored.get(name) != value_as_string(value):
                    mismatches.append((group, customer_id, name))
    assert mismatches == []

    quarantined = _drain(sqs, "featurestream-quarantine")
    assert len(quarantined) == len(pills), quarantined
    assert {m["partition_key"] for m in quarantined} == {"C7"}
    assert all(m["reason"] for m in quarantined)
    assert _drain(sqs, "featurestream-stream-failures") == []
