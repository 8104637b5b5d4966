"""The point-in-time training set over the whole history (100,000 orders), two ways in one run.

Offline store: every raw event as the pipeline stores it (the library's transforms), in the
service's layout (one Parquet file per table and event-time hour, the offline columns
added), registered in moto's Glue as the emulator registers it. Then:

* SQL path: ``training.offline_store.pit_query`` through the Athena stand-in (HTTP, DuckDB,
  the result CSV read back from moto's S3 and typed), what ``featurestream train
  --source offline-store`` runs;
* baseline: pandas on the same Parquet files: dedup, ``groupby().shift()`` for the previous
  order, ``merge_asof`` for the profile as of each order.

Both must give the same (customer, order) pairs. Printed, each with its ratio to pandas: the
SQL path reading the hourly files one by one (the stand-in's compaction off), its first query
with compaction on (which reads the files while the backlog is compacted into segments in the
background), when that compaction ended, and the query after it
(docs/offline.md). ``python bench/offline.py [--customers N] [--runs N]`` (default all, 3).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from moto.server import ThreadedMotoServer

from devstack.standins.athena.server import AthenaStandIn
from devstack.standins.featurestore.glue import table_input
from devstack.standins.featurestore.model import FeatureGroup
from devstack.standins.featurestore.offline import partition_of
from featurestream.contract.catalog import CUSTOMERS, ORDERS
from featurestream.contract.params import load_params
from featurestream.contract.transforms import features_for
from featurestream.offline.athena import run_query
from training.history import read_history
from training.offline_store import pit_query

ROOT = Path(__file__).resolve().parents[1]
BUCKET = "bench-offline"
RUNS = 3
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


def _group(spec: Any, created: int) -> FeatureGroup:
    name = f"bench-{spec.name}"
    return FeatureGroup(
        {
            "FeatureGroupName": name,
            "FeatureGroupArn": f"arn:aws:sagemaker:us-east-1:123456789012:feature-group/{name}",
            "RecordIdentifierFeatureName": "customer_id",
            "EventTimeFeatureName": "event_time",
            "FeatureDefinitions": spec.feature_definitions(),
            "CreationTime": created,
            "OfflineStoreConfig": {
                "S3StorageConfig": {
                    "ResolvedOutputS3Uri": f"s3://{BUCKET}/{name}-{created}/data",
                },
                "DataCatalogConfig": {
                    "TableName": f"bench_{spec.name}_{created}",
                    "Catalog": "AwsDataCatalog",
                    "Database": "sagemaker_featurestore",
                },
            },
        }
    )


def _arrow(group: FeatureGroup, rows: list[dict[str, Any]], write_ms: int) -> pa.Table:
    columns: dict[str, pa.Array] = {}
    for d in group.doc["FeatureDefinitions"]:
        kind = {"Integral": pa.int64(), "Fractional": pa.float64()}.get(
            d["FeatureType"], pa.string()
        )
        columns[d["FeatureName"]] = pa.array([r.get(d["FeatureName"]) for r in rows], type=kind)
    ts = pa.timestamp("ms", tz="UTC")
    columns["write_time"] = pa.array([write_ms] * len(rows), type=ts)
    columns["api_invocation_time"] = pa.array([write_ms] * len(rows), type=ts)
    columns["is_deleted"] = pa.array([False] * len(rows), type=pa.bool_())
    return pa.table(columns)


def write_offline(
    root: Path, group: FeatureGroup, records: list[tuple[int, dict[str, Any]]]
) -> int:
    """The group's rows as the service lays them out; returns the file count."""
    prefix = root / BUCKET / group.resolved_output_uri.split(f"s3://{BUCKET}/", 1)[1]  # type: ignore[union-attr]
    write_ms = int(time.time() * 1000)
    parts: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for event_ms, values in records:
        parts[partition_of(event_ms)].append(values)
    for n, (partition, rows) in enumerate(parts.items()):
        folder = prefix / partition
        folder.mkdir(parents=True, exist_ok=True)
        pq.write_table(_arrow(group, rows, write_ms), folder / f"part-{n:06d}.parquet")
    return len(parts)


def records(events: list[Any], params: Any) -> list[tuple[int, dict[str, Any]]]:
    out = []
    for event in events:
        _, features = features_for(event, params=params, as_of=event.event_time)
        out.append((int(event.event_time.timestamp() * 1000), features))
    return out


def pandas_pit(root: Path, customers: FeatureGroup, orders: FeatureGroup) -> pd.DataFrame:
    """The baseline: the same join with pandas over the same files."""

    def frame(group: FeatureGroup) -> pd.DataFrame:
        prefix = root / BUCKET / group.resolved_output_uri.split(f"s3://{BUCKET}/", 1)[1]  # type: ignore[union-attr]
        table = pq.ParquetDataset(str(prefix), partitioning=None).read()
        df = table.to_pandas()
        df["at"] = pd.to_datetime(df["event_time"], utc=True, format="ISO8601")
        return df[~df["is_deleted"]]

    o = frame(orders).sort_values(["write_time", "api_invocation_time"]).drop_duplicates("order_id")
    o = o.sort_values(["customer_id", "at", "order_id"])
    previous = o.groupby("customer_id")[
        ["order_id", "purchase_amount", "is_reordered", "purchased_on"]
    ].shift()
    o = o.assign(
        prev_order_id=previous["order_id"],
        prev_purchase_amount=previous["purchase_amount"],
        prev_is_reordered=previous["is_reordered"],
        prev_purchased_on=previous["purchased_on"],
    ).dropna(subset=["prev_order_id"])
    c = frame(customers).sort_values(["at", "api_invocation_time", "write_time"])
    profile_columns = ["customer_id", "at", "sex", "is_married", "active_since"] + [
        x for x in c.columns if x.startswith("age_")
    ]
    joined = pd.merge_asof(
        o.sort_values("at"), c[profile_columns].sort_values("at"), on="at", by="customer_id"
    )
    return joined.dropna(subset=["active_since"])


def timed(work: Any) -> tuple[float, Any]:
    samples, result = [], None
    for _ in range(RUNS):
        start = time.perf_counter()
        result = work()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples), result


def main() -> None:  # noqa: PLR0915 - one script, read top to bottom
    import logging

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=0, help="first N customers (0: all)")
    parser.add_argument("--runs", type=int, default=3, help="timed runs per path (median)")
    args = parser.parse_args()
    global RUNS  # noqa: PLW0603 - the one knob timed() reads
    RUNS = args.runs
    params = load_params()
    history = read_history(ROOT / "raw" / "customers.csv", ROOT / "raw" / "orders.csv")
    if args.customers:
        keep = {f"C{n}" for n in range(1, args.customers + 1)}
        history = type(history)(
            [e for e in history.customers if e.customer_id in keep],
            [e for e in history.orders if e.customer_id in keep],
        )
    created = int(datetime.now(UTC).timestamp())
    customers, orders = _group(CUSTOMERS, created), _group(ORDERS, created)
    customer_rows, order_rows = records(history.customers, params), records(history.orders, params)
    work = Path(tempfile.mkdtemp(prefix="bench-offline-"))
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    try:
        import boto3

        glue = boto3.client("glue", endpoint_url=endpoint, region_name="us-east-1", **CREDENTIALS)
        glue.create_database(DatabaseInput={"Name": "sagemaker_featurestore"})
        for group in (customers, orders):
            glue.create_table(DatabaseName="sagemaker_featurestore", TableInput=table_input(group))
        boto3.client(
            "s3", endpoint_url=endpoint, region_name="us-east-1", **CREDENTIALS
        ).create_bucket(Bucket="bench-results")
        root = work / "hourly"
        started = time.perf_counter()
        files = write_offline(root, customers, customer_rows)
        files += write_offline(root, orders, order_rows)
        print(f"hourly: {files} Parquet files written in {time.perf_counter() - started:.1f} s")
        sql = pit_query()
        for short, table in (("{customers}", customers), ("{orders}", orders)):
            name = table.doc["OfflineStoreConfig"]["DataCatalogConfig"]["TableName"]
            sql = sql.replace(short, f'"sagemaker_featurestore"."{name}"')
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", **CREDENTIALS)

        def query(athena: AthenaStandIn) -> Any:
            client = boto3.client(
                "athena", endpoint_url=athena.endpoint_url, region_name="us-east-1", **CREDENTIALS
            )
            return run_query(
                sql,
                database="sagemaker_featurestore",
                output_location="s3://bench-results/q/",
                client=client,
                s3=s3,
            )

        pandas_seconds, frame = timed(lambda: pandas_pit(root, customers, orders))
        print(f"pandas merge_asof over the hourly files: {pandas_seconds:.2f} s, {len(frame)} rows")
        expected = set(zip(frame["customer_id"], frame["order_id"], strict=True))

        def report(label: str, seconds: float, result: Any) -> None:
            if {(r[0], r[1]) for r in result.rows} != expected:
                sys.exit(f"{label}: the SQL path and pandas disagree")
            print(
                f"{label}: {seconds:.2f} s, {len(result.rows)} rows, same pairs as pandas "
                f"(engine {result.engine_ms} ms, scanned {result.scanned_bytes / 1e6:.1f} MB); "
                f"ratio to pandas {seconds / pandas_seconds:.2f}"
            )

        with AthenaStandIn(work / "athena-direct", root, endpoint, endpoint, compact=False) as a:
            seconds, result = timed(lambda: query(a))
        report("SQL path, hourly files read one by one", seconds, result)
        with AthenaStandIn(work / "athena", root, endpoint, endpoint) as athena:
            started = time.perf_counter()
            result = query(athena)
            report(
                "SQL path, first query (reads the files, starts compaction in the background)",
                time.perf_counter() - started,
                result,
            )
            compactor = athena.engine.compactor
            if compactor is None or not compactor.wait(timeout=600):
                sys.exit("the background compaction did not end within 600 s")
            print(
                f"compaction done {time.perf_counter() - started:.2f} s after the first query began"
            )
            seconds, result = timed(lambda: query(athena))
            report("SQL path, after compaction", seconds, result)
    finally:
        moto.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
