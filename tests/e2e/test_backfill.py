"""The backfill's proof on the local stack: the same customers' history sent once through
the streams (replay → Kinesis → trigger runner → real handlers → Feature Store) and once
straight into fresh groups with ``backfill``; the online stores must agree record for
record, and the backfilled offline store must hold one row per historical event."""

import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest

from devstack.rigs.chaos.workload import cut_raw
from devstack.stack.deployment import DevStack
from devstack.standins.featurestore.admin import flush_offline
from producers.backfill import BackfillOptions, run_backfill
from producers.replay import ReplayOptions, run_replay
from producers.streams import StreamNames
from tests.integration.producers.backfill_support import (
    create_catalog_groups,
    offline_rows,
    online_state,
)
from training.history import read_history

REPO = Path(__file__).resolve().parents[2]
FIRST, CUSTOMERS = 2001, 150  # customers no other test on the shared stack writes
TIME_RELATIVE = {"n_days_active", "n_days_since_last_purchase"}


def _processed(stack: DevStack) -> tuple[int, int, bool]:
    status = stack.watch()
    totals = [f["totals"] for f in status["functions"].values()]
    return (
        sum(t["records_processed"] for t in totals),
        sum(t["records_to_on_failure"] for t in totals),
        bool(status["caught_up"]),
    )


@pytest.mark.timeout(180)
def test_backfill_leaves_the_online_store_a_full_replay_leaves_and_every_event_offline(
    local_stack: DevStack, local_stack_env: dict[str, str], tmp_path: Path
) -> None:
    ids = {f"C{n}" for n in range(FIRST, FIRST + CUSTOMERS)}
    customers_csv, orders_csv = cut_raw(REPO / "raw", ids, tmp_path)
    history = read_history(customers_csv, orders_csv)
    events = len(history.customers) + len(history.orders)
    started = datetime.now(UTC)

    base, base_failed, _ = _processed(local_stack)
    replayed = run_replay(
        ReplayOptions(
            customers=customers_csv,
            orders=orders_csv,
            streams=StreamNames.from_env(),
            failed_file=tmp_path / "replay-failed.jsonl",
        )
    )
    assert replayed.failed == 0 and replayed.sent == events
    deadline = time.monotonic() + 120
    while True:
        processed, failed, caught_up = _processed(local_stack)
        if processed - base + failed - base_failed >= events and caught_up:
            break
        assert time.monotonic() < deadline, "the stream functions did not catch up"
        time.sleep(0.2)
    assert failed == base_failed

    names = create_catalog_groups(boto3.client("sagemaker"), f"bf-{uuid.uuid4().hex[:8]}")
    summary = run_backfill(
        BackfillOptions(
            customers=customers_csv,
            orders=orders_csv,
            group_names=names,
            offline_only_history=True,
            failed_file=tmp_path / "backfill-failed.jsonl",
        )
    )
    assert summary.exit_code == 0, summary.lines()
    assert summary.written == events
    same_day = datetime.now(UTC).date() == started.date()

    runtime = boto3.client("sagemaker-featurestore-runtime")
    for kind in ("customers", "orders"):
        replay_state = online_state(runtime, f"featurestream-{kind}", ids)
        backfill_state = online_state(runtime, names[kind], ids)
        assert replay_state, "the replay wrote nothing online"
        if not same_day:  # the time-relative features were computed on different dates
            for state in (replay_state, backfill_state):
                for record in state.values():
                    for name in TIME_RELATIVE & set(record):
                        del record[name]
        assert backfill_state == replay_state

    flush_offline(local_stack_env["AWS_ENDPOINT_URL_SAGEMAKER"])
    rows = {
        kind: offline_rows(local_stack.state_dir, names[kind]) for kind in ("customers", "orders")
    }
    assert len(rows["customers"]) == len(history.customers)
    assert sorted(r["order_id"] for r in rows["orders"]) == sorted(
        e.data.order_id for e in history.orders
    )
