"""Incremental compaction of an offline table's small files, kept by the Athena stand-in.

The service's layout leaves one small Parquet file per table and event-time hour, and each
file costs an open and a footer read on every query. The offline store writes each file once
under a unique name, so the stand-in can keep, per table, a few large *segments* holding the
rows of every file it has seen, plus a manifest naming those files (as Iceberg's manifests
and ``rewrite_data_files`` do on AWS). A query then reads the segments; the files written
since are compacted into one new segment first, and once there are more than
:data:`MAX_SEGMENTS` they are merged into one.

Every row is read exactly once: a file is either in the manifest (its rows are in a segment)
or new. A file that changed or disappeared (a rewrite after a crash, a deleted group)
makes the table start over. Crash safety: a segment is written to a temp name and renamed,
then the manifest is replaced (temp file, rename); segments the manifest does not name are
leftovers and are deleted. The source files are never touched, so the Glue table, its
location and its partitions stay exactly as the service leaves them.

Segments hold the Glue columns cast to their types and the partition keys as strings, the
same columns the direct read gives. New files are read with pyarrow's dataset reader (all
columns of many small files: several times faster than DuckDB's ``read_parquet`` here) and
written by DuckDB, which casts them.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds

MAX_SEGMENTS = 8
"""Beyond this many segments, a table's segments are merged into one."""
INLINE_NEW_FILES = 2000
"""New files a query compacts before it runs (about as long as reading them would take).
A larger backlog (the first query after a replay, a table started over) is compacted on a
background thread while that query reads the files themselves: no query waits for more."""
_MANIFEST = "manifest.json"
log = logging.getLogger("devstack.standins.athena")


@dataclass(frozen=True)
class Compacted:
    """A table's rows as segment files, and the bytes of the source files behind them."""

    segments: list[Path]
    source_bytes: int
    new_files: int


def list_parquet(folder: Path) -> dict[str, tuple[int, int]]:
    """Every Parquet file under ``folder``: relative path -> (size, mtime in ns)."""
    found: dict[str, tuple[int, int]] = {}
    stack = [folder]
    while stack:
        current = stack.pop()
        try:
            entries = list(os.scandir(current))
        except FileNotFoundError:
            continue
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                stack.append(Path(entry.path))
            elif entry.name.endswith(".parquet"):
                stat = entry.stat(follow_symlinks=False)
                found[os.path.relpath(entry.path, folder)] = (stat.st_size, stat.st_mtime_ns)
    return found


class TableCompactor:
    """Keeps each table's segments under ``root`` (one folder per table and location)."""

    def __init__(self, root: Path, inline_new_files: int = INLINE_NEW_FILES) -> None:
        self.root = root
        self.inline_new_files = inline_new_files
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        self._background: list[threading.Thread] = []

    def _home(
        self, table: str, folder: Path, select_sql: str, partition_keys: list[str]
    ) -> tuple[Path, threading.Lock]:
        key = f"{table}\0{folder}\0{select_sql}\0{partition_keys}"
        home = self.root / hashlib.sha256(key.encode()).hexdigest()[:24]
        with self._guard:
            return home, self._locks.setdefault(home.name, threading.Lock())

    def compact(
        self, table: str, folder: Path, select_sql: str, partition_keys: list[str]
    ) -> Compacted:
        """The segments holding every row of ``folder``'s Parquet files, after compacting
        the new ones. ``select_sql`` selects the table's columns from ``{source}``: the new
        files' rows, with ``partition_keys`` as strings from their ``key=value`` folders."""
        home, lock = self._home(table, folder, select_sql, partition_keys)
        with lock:
            return self._compact(home, folder, select_sql, partition_keys)

    def segments(
        self, table: str, folder: Path, select_sql: str, partition_keys: list[str]
    ) -> Compacted | None:
        """What a query reads: the segments, after compacting at most
        :attr:`inline_new_files` new files; ``None`` (read the files themselves) while a
        larger backlog is compacted on a background thread, or while another compaction of
        the table runs."""
        home, lock = self._home(table, folder, select_sql, partition_keys)
        if not lock.acquire(blocking=False):
            return None
        handed_over = False
        try:
            known, _ = _read_manifest(home)
            files = list_parquet(folder)
            if any(files.get(name) != tuple(seen) for name, seen in known.items()):
                pending = len(files)  # a file changed or went away: the table starts over
            else:
                pending = len(files) - len(known)
            if pending <= self.inline_new_files:
                return self._compact(home, folder, select_sql, partition_keys, files)
            worker = threading.Thread(
                target=self._compact_then_release,
                args=(lock, home, folder, select_sql, partition_keys),
                name=f"compact-{home.name}",
                daemon=True,  # crash-safe: a stop mid-way leaves leftovers the next run deletes
            )
            self._background = [t for t in self._background if t.is_alive()] + [worker]
            worker.start()
            handed_over = True  # the lock is the worker's now
            return None
        finally:
            if not handed_over:
                lock.release()

    def _compact_then_release(
        self,
        lock: threading.Lock,
        home: Path,
        folder: Path,
        select_sql: str,
        partition_keys: list[str],
    ) -> None:
        try:
            self._compact(home, folder, select_sql, partition_keys)
        except Exception as error:  # the next query reads the files and tries again
            log.warning("compaction of %s failed: %s", folder.name, type(error).__name__)
        finally:
            lock.release()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the background compactions; whether they all ended."""
        for worker in list(self._background):
            worker.join(timeout)
        return not any(t.is_alive() for t in self._background)

    def _compact(
        self,
        home: Path,
        folder: Path,
        select_sql: str,
        partition_keys: list[str],
        files: dict[str, tuple[int, int]] | None = None,
    ) -> Compacted:
        home.mkdir(parents=True, exist_ok=True)
        files = list_parquet(folder) if files is None else files
        known, segments = _read_manifest(home)
        if any(files.get(name) != tuple(seen) for name, seen in known.items()):
            known, segments = {}, []  # a file changed or went away: start over
        new = sorted(name for name in files if name not in known)
        if new:
            sources = [str(folder / name) for name in new]
            source = _read(sources, folder, partition_keys)
            segments.append(_write_segment(home, select_sql, source))
            known.update({name: files[name] for name in new})
        if len(segments) > MAX_SEGMENTS:
            merged = [str(home / s) for s in segments]
            source = _read(merged, None, [])
            segments = [_write_segment(home, "SELECT * FROM {source}", source)]
        if new or not (home / _MANIFEST).is_file():
            _write_manifest(home, known, segments)
        _delete_leftovers(home, segments)
        return Compacted(
            [home / s for s in segments], sum(size for size, _ in known.values()), len(new)
        )


def _read_manifest(home: Path) -> tuple[dict[str, tuple[int, int]], list[str]]:
    try:
        doc = json.loads((home / _MANIFEST).read_text())
        files = {str(k): (int(v[0]), int(v[1])) for k, v in doc["files"].items()}
        segments = [str(s) for s in doc["segments"]]
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return {}, []
    if not all((home / s).is_file() for s in segments):
        return {}, []
    return files, segments


def _write_manifest(home: Path, files: dict[str, tuple[int, int]], segments: list[str]) -> None:
    tmp = home / (_MANIFEST + ".tmp")
    tmp.write_text(json.dumps({"files": files, "segments": segments}))
    tmp.replace(home / _MANIFEST)


def _read(files: list[str], base: Path | None, partition_keys: list[str]) -> pa.Table:
    """The rows of ``files`` in one Arrow table (the partition keys from the folder names
    under ``base``). pyarrow's dataset reader opens many small files several times faster
    than DuckDB's ``read_parquet`` when every column is wanted."""
    partitioning = (
        ds.partitioning(pa.schema([(k, pa.string()) for k in partition_keys]), flavor="hive")
        if partition_keys
        else None
    )
    dataset = ds.dataset(
        files,
        format="parquet",
        partitioning=partitioning,
        partition_base_dir=str(base) if base else None,
    )
    return dataset.to_table().combine_chunks()  # one chunk per file would slow DuckDB down


def _write_segment(home: Path, select_sql: str, source: pa.Table) -> str:
    """One segment of ``source``'s rows as ``select_sql`` selects them (written to a temp
    name, then renamed); its name."""
    name = f"segment-{secrets.token_hex(8)}.parquet"
    tmp = home / (name + ".tmp")
    conn = duckdb.connect(config={"threads": 2})
    try:
        conn.execute("SET TimeZone = 'UTC'")
        conn.register("source_rows", source)
        target = str(tmp).replace("'", "''")
        query = select_sql.replace("{source}", "source_rows")
        conn.execute(f"COPY ({query}) TO '{target}' (FORMAT parquet)")  # nosec B608
    finally:
        conn.close()
    tmp.replace(home / name)
    return name


def _delete_leftovers(home: Path, segments: list[str]) -> None:
    keep = set(segments) | {_MANIFEST}
    for path in home.iterdir():
        if path.name not in keep:
            path.unlink(missing_ok=True)
