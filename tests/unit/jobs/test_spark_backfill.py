"""The Spark backfill job's transform logic: its records equal the library's transforms of
the same events (the one definition), and in PySpark local mode its frames hold every
event's record (history) and each record's newest one (online)."""

import csv
import importlib.util
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

import pytest

from devstack.rigs.chaos.workload import cut_raw
from featurestream.contract.catalog import CUSTOMERS, ORDERS
from featurestream.contract.params import load_params
from featurestream.contract.transforms import features_for
from training.history import read_history

REPO = Path(__file__).resolve().parents[3]
AS_OF = datetime(2022, 3, 1, 12, 0, tzinfo=UTC)


def _job() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "backfill_offline", REPO / "jobs" / "spark" / "backfill_offline.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return cut_raw(REPO / "raw", {f"C{n}" for n in range(1, 31)}, tmp_path_factory.mktemp("x"))


def _expected(events, spec) -> list[tuple]:
    params = load_params()
    return [
        tuple(
            features_for(e, params=params, as_of=max(AS_OF, e.event_time))[1][n]
            for n in spec.feature_names
        )
        for e in events
    ]


def _newest(events) -> list:
    newest = {}
    for event in events:  # file order; a tie keeps the first
        best = newest.get(event.customer_id)
        if best is None or event.event_time > best.event_time:
            newest[event.customer_id] = event
    return list(newest.values())


def test_records_for_applies_the_librarys_transforms_and_skips_unreadable_rows(exports):
    job = _job()
    customers, orders = exports
    history = read_history(customers, orders)
    for kind, path, spec, events in (
        ("customers", customers, CUSTOMERS, history.customers),
        ("orders", orders, ORDERS, history.orders),
    ):
        with path.open(newline="") as handle:
            rows = [dict(row, _row=n) for n, row in enumerate(csv.DictReader(handle))]
        rows.insert(1, {**rows[0], spec.feature_names[1]: "", "_row": -1})  # a bad row
        got = list(job.records_for(kind, rows, load_params(), AS_OF))
        assert [record[-1] for record in got] == list(range(len(events)))
        assert sorted(record[:-1] for record in got) == sorted(_expected(events, spec))


def test_build_frames_in_spark_local_mode(exports, monkeypatch):
    pyspark_sql = pytest.importorskip("pyspark.sql", reason="PySpark is not installed")
    # Spark's Python workers: this interpreter, finding the job module and the library
    monkeypatch.setenv("PYSPARK_PYTHON", sys.executable)
    paths = [str(REPO / "jobs" / "spark"), str(REPO), os.environ.get("PYTHONPATH", "")]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in paths if p))
    job = _job()
    customers, orders = exports
    history = read_history(customers, orders)
    spark = (
        pyspark_sql.SparkSession.builder.master("local[1]")
        .appName("featurestream-backfill-test")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .getOrCreate()
    )
    try:
        for kind, path, spec, events in (
            ("customers", customers, CUSTOMERS, history.customers),
            ("orders", orders, ORDERS, history.orders),
        ):
            all_rows, newest = job.build_frames(spark, kind, str(path), load_params(), AS_OF)
            assert all_rows.columns == list(spec.feature_names) == newest.columns
            got = sorted(tuple(row) for row in all_rows.collect())
            assert got == sorted(_expected(events, spec))
            got_newest = sorted(tuple(row) for row in newest.collect())
            assert got_newest == sorted(_expected(_newest(events), spec))
    finally:
        spark.stop()
