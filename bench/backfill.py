"""Loading the history three ways into one local stack, in one run:

1. ``featurestream backfill`` (reading, transforms and BatchWriteRecord calls, 25 entries
   each, on 8 workers; ``--offline-only-history``), timed from the CSVs to the last write;
2. the tutorial's way, ``FeatureGroup.ingest(df, max_workers=3)``: the same records, one
   PutRecord per row, the rows split into 3 parts each sent by its own worker and client,
   as the SageMaker SDK's ingestion manager does; timed for the writes only (the records
   are computed before the clock starts, as the tutorial's DataFrames are);
3. ``featurestream replay`` through the streams (moto Kinesis, the trigger runner, the real
   stream handlers), timed until every event is processed and every shard caught up.

The stack runs as ``featurestream local up`` runs it (separate processes, real HTTP), on
free ports and a temporary state folder; the emulator answers every runtime call after
``--store-latency-ms`` (default 10 ms, a nearby region's round trip, as ``make load``).
Each way writes into its own feature groups, so none gains from another's records.
Printed: seconds and events/s per way and the backfill's speed-up over the per-row
baseline (target: at least 10x).

Run: python bench/backfill.py [--customers-count N] [--store-latency-ms MS] [--skip-replay]
"""

import argparse
import os
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from _machine import machine_speed  # bench/ is the script's folder, so on sys.path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET = 10.0
SDK_WORKERS = 3


def _safe_env() -> None:
    """Dummy credentials: this benchmark must never reach a real account."""
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
        os.environ.pop(name, None)
    os.environ.update(
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_SESSION_TOKEN="bench",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_REGION="us-east-1",
    )


def _exports(work: Path, count: int | None) -> tuple[Path, Path]:
    if count is None:
        return ROOT / "raw" / "customers.csv", ROOT / "raw" / "orders.csv"
    from devstack.rigs.chaos.workload import cut_raw

    return cut_raw(ROOT / "raw", {f"C{n}" for n in range(1, count + 1)}, work)


def _groups(prefix: str) -> dict[str, str]:
    """Fresh catalog groups (online + offline store) named ``prefix-customers/orders``."""
    import boto3

    from tests.integration.producers.backfill_support import create_catalog_groups

    return create_catalog_groups(boto3.client("sagemaker"), prefix)


def run_backfill_way(customers: Path, orders: Path, work: Path) -> tuple[float, int, int]:
    """Seconds, entries written, calls made."""
    from producers.backfill import BackfillOptions, run_backfill

    names = _groups(f"bench-bf-{uuid.uuid4().hex[:6]}")
    started = time.perf_counter()
    summary = run_backfill(
        BackfillOptions(
            customers=customers,
            orders=orders,
            group_names=names,  # type: ignore[arg-type]
            offline_only_history=True,
            failed_file=work / "backfill-failed.jsonl",
        )
    )
    seconds = time.perf_counter() - started
    if summary.exit_code != 0:
        raise SystemExit("backfill failed:\n" + "\n".join(summary.lines()))
    return seconds, summary.written, summary.calls


def run_per_row_way(customers: Path, orders: Path) -> tuple[float, int]:
    """The SDK's ``ingest(max_workers=3)``: one PutRecord per row, 3 workers, own clients."""
    from featurestream.aws.clients import client_config, create_client
    from producers.backfill.plan import plan_backfill

    names = _groups(f"bench-put-{uuid.uuid4().hex[:6]}")
    plan = plan_backfill(
        [("customers", customers), ("orders", orders)],
        names,  # type: ignore[arg-type]
        params=_params(),
        as_of=datetime.now(UTC),
        offline_only_history=False,
        on_bad_row=lambda row: None,
    )
    rows = [(e["FeatureGroupName"], e["Record"]) for e in plan.entries]
    size = -(-len(rows) // SDK_WORKERS)
    parts = [rows[i : i + size] for i in range(0, len(rows), size)]
    errors: list[BaseException] = []

    def worker(part: list[tuple[str, Any]]) -> None:
        client = create_client("sagemaker-featurestore-runtime", client_config(max_attempts=3))
        try:
            for group, record in part:
                client.put_record(FeatureGroupName=group, Record=record)
        except Exception as error:  # reported after the run
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(part,)) for part in parts]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    if errors:
        raise SystemExit(f"per-row ingest failed: {errors[0]}")
    return seconds, len(rows)


def _params() -> Any:
    from featurestream.contract.params import load_params

    return load_params()


def run_replay_way(stack: Any, customers: Path, orders: Path, work: Path) -> tuple[float, int]:
    """Replay into the stack's streams; seconds until every event is processed."""
    from producers.replay import ReplayOptions, run_replay
    from producers.streams import StreamNames

    def processed() -> tuple[int, bool]:
        status = stack.watch()
        totals = [f["totals"] for f in status["functions"].values()]
        done = sum(t["records_processed"] + t["records_to_on_failure"] for t in totals)
        return done, bool(status["caught_up"])

    base, _ = processed()
    started = time.perf_counter()
    summary = run_replay(
        ReplayOptions(
            customers=customers,
            orders=orders,
            streams=StreamNames.from_env(),
            failed_file=work / "replay-failed.jsonl",
        )
    )
    if summary.exit_code != 0:
        raise SystemExit("replay failed:\n" + "\n".join(summary.lines()))
    deadline = time.monotonic() + 1800
    while True:
        done, caught_up = processed()
        if done - base >= summary.sent and caught_up:
            return time.perf_counter() - started, summary.sent
        if time.monotonic() > deadline:
            raise SystemExit(f"replay: consumers stuck at {done - base}/{summary.sent}")
        time.sleep(0.5)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers-count", type=int, help="only customers C1..CN (all: 110k)")
    parser.add_argument("--store-latency-ms", type=float, default=10.0)
    parser.add_argument("--skip-replay", action="store_true", help="only the two API ways")
    args = parser.parse_args()
    _safe_env()
    from devstack.rigs.load import set_store_latency
    from devstack.stack.deployment import DevStack, StackConfig
    from devstack.stack.process import free_port

    speed = machine_speed()
    with tempfile.TemporaryDirectory(prefix="bench-backfill-") as folder:
        work = Path(folder)
        customers, orders = _exports(work, args.customers_count)
        config = StackConfig(
            moto_port=free_port(),
            featurestore_port=free_port(),
            model_endpoint_port=free_port(),
            trigger_port=free_port(),
            api_port=free_port(),
            template=ROOT / "template.yaml",
            model_dir=ROOT / "model",
            state_dir=work / "state",
        )
        stack = DevStack(config)
        print("starting the local stack ...", flush=True)
        stack.up()
        try:
            os.environ.update(stack.environment())
            store = os.environ["AWS_ENDPOINT_URL_SAGEMAKER_FEATURESTORE_RUNTIME"]
            set_store_latency(store, args.store_latency_ms)
            print("1/3 backfill ...", flush=True)
            backfill_s, written, calls = run_backfill_way(customers, orders, work)
            print("2/3 one PutRecord per row on 3 workers ...", flush=True)
            per_row_s, rows = run_per_row_way(customers, orders)
            replay_s, sent = None, 0
            if not args.skip_replay:
                print("3/3 replay through the streams ...", flush=True)
                replay_s, sent = run_replay_way(stack, customers, orders, work)
        finally:
            stack.down()
    print()
    print(f"machine: sum(range(1000)) {speed:.1f} us; store latency {args.store_latency_ms:g} ms")
    print(f"{'way':<44} {'events':>8} {'seconds':>8} {'events/s':>9}")
    table = [
        ("backfill (BatchWriteRecord x25, 8 workers)", written, backfill_s),
        ("PutRecord per row, 3 workers (SDK ingest)", rows, per_row_s),
    ]
    if replay_s is not None:
        table.append(("replay through the streams, caught up", sent, replay_s))
    for name, count, seconds in table:
        print(f"{name:<44} {count:>8,} {seconds:>8.1f} {count / seconds:>9,.0f}")
    print(f"({calls:,} BatchWriteRecord calls)")
    ratio = (written / backfill_s) / (rows / per_row_s)
    print(f"backfill / per-row: {ratio:.1f}x (target >= {TARGET:g}x)")
    if replay_s is not None:
        print(f"backfill / replay:  {(written / backfill_s) / (sent / replay_s):.1f}x")
    return 0 if ratio >= TARGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
