"""The stand-in's compaction of small offline files: the training set it gives equals the one
read file by file, new files are compacted incrementally, and a crash (or a rewritten file)
never makes a row count twice or go missing. Real files, real DuckDB."""

import threading
from collections import defaultdict
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from devstack.standins.athena.compaction import MAX_SEGMENTS, TableCompactor
from devstack.standins.athena.engine import Engine, GlueTable
from devstack.standins.featurestore.offline import partition_of
from featurestream.contract.catalog import CUSTOMERS, ORDERS
from featurestream.contract.params import load_params
from featurestream.contract.transforms import features_for
from training.history import read_history
from training.offline_store import pit_query

ROOT = Path(__file__).resolve().parents[3]
KEYS = ["year", "month", "day", "hour"]
HIVE = {"Integral": "bigint", "Fractional": "double", "String": "string"}
ARROW = {"Integral": pa.int64(), "Fractional": pa.float64(), "String": pa.string()}
SQL = pit_query().replace("{customers}", "fs.customers").replace("{orders}", "fs.orders")


def _write(folder: Path, spec: Any, rows: list[tuple[int, dict[str, Any]]], name: str) -> None:
    """Rows in the service's layout: one file per event-time hour, the offline columns added."""
    parts: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for event_ms, values in rows:
        parts[partition_of(event_ms)].append(values)
    for partition, values in parts.items():
        columns = {
            f.name: pa.array([v.get(f.name) for v in values], type=ARROW[f.type])
            for f in spec.features
        }
        ts = pa.timestamp("ms", tz="UTC")
        columns["write_time"] = pa.array([1_700_000_000_000] * len(values), type=ts)
        columns["api_invocation_time"] = pa.array([1_700_000_000_000] * len(values), type=ts)
        columns["is_deleted"] = pa.array([False] * len(values))
        (folder / partition).mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.table(columns), folder / partition / f"{name}.parquet")


@pytest.fixture
def store(tmp_path: Path) -> Path:
    """30 customers' raw history as two offline tables under ``tmp_path/offline``."""
    params = load_params()
    history = read_history(ROOT / "raw" / "customers.csv", ROOT / "raw" / "orders.csv")
    keep = {f"C{n}" for n in range(1, 31)}
    for spec, events in ((CUSTOMERS, history.customers), (ORDERS, history.orders)):
        rows = [
            (
                int(e.event_time.timestamp() * 1000),
                features_for(e, params=params, as_of=e.event_time)[1],
            )
            for e in events
            if e.customer_id in keep
        ]
        _write(tmp_path / "offline" / spec.name, spec, rows, "part-0")
    return tmp_path / "offline"


def _engine(store: Path, compactor: TableCompactor | None) -> Engine:
    def lookup(database: str, name: str) -> GlueTable:
        spec = {"customers": CUSTOMERS, "orders": ORDERS}[name]
        columns = [(f.name, HIVE[f.type]) for f in spec.features]
        columns += [("write_time", "timestamp"), ("api_invocation_time", "timestamp")]
        columns += [("is_deleted", "boolean")] + [(k, "string") for k in KEYS]
        return GlueTable(database, name, columns, KEYS, f"s3://b/{name}", same_schema=True)

    return Engine(lookup, lambda location: store / location.rsplit("/", 1)[1], compactor)


def _rows(engine: Engine, sql: str = SQL) -> list[tuple[Any, ...]]:
    texts = engine.run("q", sql, "fs").texts
    return list(zip(*(c.to_pylist() for c in texts.columns), strict=True))


def _homes(compactor: TableCompactor) -> list[Path]:
    return sorted(p for p in compactor.root.iterdir() if p.is_dir())


def _add_order(store: Path, name: str, order_id: str, when: str) -> None:
    """A later order of C10 (it has earlier orders and a profile), in an hour of its own."""
    from datetime import datetime

    at = datetime.fromisoformat(when)
    values = {f.name: None for f in ORDERS.features}
    values.update(
        customer_id="C10",
        order_id=order_id,
        event_time=at.isoformat().replace("+00:00", "Z"),
        purchase_amount=12.5,
        is_reordered=1,
        purchased_on=at.isoformat().replace("+00:00", "Z"),
    )
    _write(store / "orders", ORDERS, [(int(at.timestamp() * 1000), values)], name)


def test_the_training_set_after_compaction_equals_the_one_read_file_by_file(
    store: Path, tmp_path: Path
) -> None:
    direct = _engine(store, None)
    compactor = TableCompactor(tmp_path / "compacted")
    compacted = _engine(store, compactor)
    expected = _rows(direct)
    assert len(expected) > 100
    assert _rows(compacted) == expected
    files = sum(1 for _ in store.rglob("*.parquet"))
    segments = [p for home in _homes(compactor) for p in home.glob("segment-*.parquet")]
    assert len(segments) == 2 < files  # one segment per table, read instead of the files
    assert _rows(compacted) == expected  # again, from the segments alone


def test_new_files_are_compacted_incrementally_and_read_once(store: Path, tmp_path: Path) -> None:
    compactor = TableCompactor(tmp_path / "compacted")
    compacted = _engine(store, compactor)
    before = _rows(compacted)
    _add_order(store, "late", "O-late", "2030-01-01T05:00:00+00:00")
    after = _rows(compacted)
    assert after == _rows(_engine(store, None))
    assert [r for r in after if r not in before] == [r for r in after if r[1] == "O-late"]
    assert len([r for r in after if r[1] == "O-late"]) == 1
    orders_home = max(_homes(compactor), key=lambda h: len(list(h.glob("segment-*"))))
    assert len(list(orders_home.glob("segment-*.parquet"))) == 2  # the old one kept
    for n in range(MAX_SEGMENTS):
        _add_order(store, f"more-{n}", f"O-more-{n}", f"2030-02-0{n + 1}T05:00:00+00:00")
        assert _rows(compacted) == _rows(_engine(store, None))
    assert len(list(orders_home.glob("segment-*.parquet"))) <= MAX_SEGMENTS  # merged


def test_a_crash_leaves_nothing_that_counts_twice(store: Path, tmp_path: Path) -> None:
    compactor = TableCompactor(tmp_path / "compacted")
    compacted = _engine(store, compactor)
    expected = _rows(compacted)
    for home in _homes(compactor):
        segment = next(home.glob("segment-*.parquet"))
        # what a crash between writing a segment and replacing the manifest leaves
        (home / "segment-0000000000000000.parquet").write_bytes(segment.read_bytes())
        (home / "segment-1111111111111111.parquet.tmp").write_bytes(b"half a file")
        (home / "manifest.json.tmp").write_text("{")
    assert _rows(compacted) == expected
    for home in _homes(compactor):
        assert sorted(p.name for p in home.iterdir() if "segment-" not in p.name) == [
            "manifest.json"
        ]
        assert len(list(home.glob("segment-*"))) == 1
    for home in _homes(compactor):
        (home / "manifest.json").write_text("not json")  # unreadable: start over
    assert _rows(compacted) == expected


def test_a_file_rewritten_under_its_name_is_read_again(store: Path, tmp_path: Path) -> None:
    compacted = _engine(store, TableCompactor(tmp_path / "compacted"))
    _add_order(store, "late", "O-late", "2030-01-01T05:00:00+00:00")
    assert "O-late" in {r[1] for r in _rows(compacted)}
    _add_order(store, "late", "O-again", "2030-01-01T05:00:00+00:00")  # replaces the file
    ids = [r[1] for r in _rows(compacted)]
    assert "O-again" in ids
    assert "O-late" not in ids


def test_a_query_naming_a_partition_key_reads_the_folders(store: Path, tmp_path: Path) -> None:
    compactor = TableCompactor(tmp_path / "compacted")
    engine = _engine(store, compactor)
    sql = "SELECT count(*) FROM orders WHERE year = '2018'"
    assert _rows(engine, sql) == _rows(_engine(store, None), sql)
    assert not compactor.root.exists() or not _homes(compactor)  # nothing compacted


def test_a_large_backlog_is_compacted_in_the_background_while_queries_read_the_files(
    store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = _rows(_engine(store, None))
    compactor = TableCompactor(tmp_path / "compacted", inline_new_files=1)
    engine = _engine(store, compactor)
    held = threading.Event()
    compact = compactor._compact

    def held_back(*args: Any, **kwargs: Any) -> Any:
        held.wait(60)
        return compact(*args, **kwargs)

    monkeypatch.setattr(compactor, "_compact", held_back)
    assert _rows(engine) == expected  # answered from the files while compaction is held back
    assert _rows(engine) == expected  # and again: the table's compaction is still running
    assert not compactor.wait(timeout=0.1)
    held.set()
    assert compactor.wait(timeout=60)
    monkeypatch.setattr(compactor, "_compact", compact)
    homes = _homes(compactor)
    assert len(homes) == 2  # both tables were compacted in the background
    for home in homes:
        assert (home / "manifest.json").is_file()
        assert len(list(home.glob("segment-*.parquet"))) == 1
    _add_order(store, "late", "O-late", "2030-01-01T05:00:00+00:00")  # 1 new file: inline
    after = _rows(engine)
    assert after == _rows(_engine(store, None))
    assert sum(len(list(h.glob("segment-*.parquet"))) for h in homes) == 3
    assert compactor.wait(timeout=1)  # nothing was left running
