"""Offline store: rows journaled in SQLite with the online write, moved to Parquet later.

Every accepted write adds its offline row to the ``offline_rows`` table inside the same
transaction as its online change, so a row the emulator acknowledged survives a crash. The
emulator's maintenance thread moves rows to Parquet, one file per table and hourly
partition: it records the file's name and its rows (the claim, in ``offline_files``), writes
the file (a temp file renamed into place, or one S3 put), then deletes the rows and the
claim. On start-up, a claim whose rows are all still there is written again under its name
(replacing whatever a crash left), one that lost rows was written already and is finished,
and the other rows are moved, all before anything is served: each row lands in exactly one
file. A failed write keeps its claim and is retried under the same name.

Files follow the service's key layout under the group's ``ResolvedOutputS3Uri``
(``.../data/year=/month=/day=/hour=/<latest event>_<16 chars>.parquet``, partitioned by
event time) and carry ``write_time``, ``api_invocation_time`` and ``is_deleted``. Writes go
to a local folder mirroring ``s3://bucket/key`` (never outside it), or to an S3 endpoint
(moto) if configured. A row waits at most ``flush_interval`` seconds in the journal.
"""

from __future__ import annotations

import functools
import json
import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from devstack.standins.featurestore.database import Database
from devstack.standins.featurestore.model import FeatureGroup

log = logging.getLogger("devstack.standins.featurestore.offline")

_PARQUET_OPTIONS: dict[str, Any] = {"use_dictionary": False}
"""A flush writes a few rows per event-time hour, so a dictionary page never pays off; it
was a third of the write cost per file. Snappy and column statistics stay, as the service
writes them."""
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_FORGET_SLICE = 500
"""Rows deleted per transaction once their file is written (~1 ms of the database lock)."""


class OfflineLocationError(ValueError):
    """An offline table whose files would land outside the offline store's folder."""


@dataclass(frozen=True)
class _Row:
    id: int  # offline_rows.id: deleted once the row is in a file
    values: dict[str, Any]
    event_ms: int
    api_ms: int
    deleted: bool


@dataclass
class _Buffer:
    group: FeatureGroup
    table: str
    partition: str
    rows: list[_Row] = field(default_factory=list)
    first_ms: float = field(default_factory=time.monotonic)
    max_event_ms: int = -(2**62)
    file: str | None = None  # "bucket/key" once claimed

    def add(self, row: _Row) -> None:
        self.rows.append(row)
        self.max_event_ms = max(self.max_event_ms, row.event_ms)


def _instant(ms: int) -> datetime:
    try:
        return _EPOCH + timedelta(milliseconds=ms)
    except OverflowError:  # years before 0001 cannot be represented; park them in 0001
        return datetime(1, 1, 1, tzinfo=UTC)


@functools.lru_cache(maxsize=4096)
def _partition_of_hour(hour: int) -> str:
    t = _instant(hour * 3_600_000)
    return f"year={t.year:04d}/month={t.month:02d}/day={t.day:02d}/hour={t.hour:02d}"


def partition_of(event_ms: int) -> str:
    """The hourly Hive partition of an event time (UTC); memoized per hour."""
    return _partition_of_hour(event_ms // 3_600_000)


def split_s3_uri(uri: str) -> tuple[str, str]:
    rest = uri.split("://", 1)[1]
    bucket, _, key = rest.partition("/")
    return bucket, key.strip("/")


def local_path(root: Path, bucket: str, key: str) -> Path:
    """Where ``s3://bucket/key`` is mirrored under ``root``; refuses any location that
    resolves outside ``root`` (``..`` segments, absolute keys, symlinks pointing out)."""
    base = root.resolve()
    try:
        path = (base / bucket / key).resolve()
    except (OSError, ValueError) as error:  # NUL bytes, names the OS refuses
        raise OfflineLocationError("the offline store location is not a valid path") from error
    if path == base or not path.is_relative_to(base):
        raise OfflineLocationError("the offline store location resolves outside its folder")
    return path


def table_key(group: FeatureGroup) -> str:
    """One offline table: a group name can be reused after a delete, its ARN and epoch not."""
    return f"{group.arn}@{group.creation_epoch}"


def _values_of(features_json: str) -> dict[str, Any]:
    return {
        fv["FeatureName"]: fv["ValueAsStringList"]
        if "ValueAsStringList" in fv
        else fv["ValueAsString"]
        for fv in json.loads(features_json)
    }


def _features_json(values: dict[str, Any]) -> str:
    return json.dumps(
        [
            {"FeatureName": k, "ValueAsStringList": v}
            if isinstance(v, list)
            else {"FeatureName": k, "ValueAsString": v}
            for k, v in values.items()
        ],
        separators=(",", ":"),
        ensure_ascii=False,
    )


class OfflineStore:
    """The journal of acknowledged rows plus the Parquet writer; the caller drives
    ``flush_due`` and calls ``recover`` once before serving."""

    def __init__(
        self,
        db: Database,
        local_root: Path,
        flush_interval: float,
        max_buffered_rows: int,
        s3_client_factory: Callable[[], Any] | None = None,
    ) -> None:
        self.db = db
        self.local_root = local_root
        self.flush_interval = flush_interval
        self.max_buffered_rows = max_buffered_rows
        self._s3_factory = s3_client_factory
        self._s3: Any = None
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._buffers: dict[tuple[str, str], _Buffer] = {}
        self._retry: list[_Buffer] = []  # claimed files whose write failed
        self._tables: dict[str, FeatureGroup] = {}  # definitions already in offline_tables
        self._pending = 0
        self.wakeup = threading.Event()
        self.blocked: dict[str, str] = {}  # group ARN -> reason, reported by Describe
        self.files_written = 0
        self._made_dirs: set[Path] = set()

    def check_location(self, uri: str) -> None:
        """Refuse an offline store URI whose local mirror would leave the store's folder."""
        bucket, key = split_s3_uri(uri)
        local_path(self.local_root, bucket, key)

    # -- journaling ----------------------------------------------------------------------------

    def append(
        self,
        group: FeatureGroup,
        values: dict[str, Any],
        event_ms: int,
        api_invocation_ms: int,
        is_deleted: bool = False,
        *,
        features_json: str | None = None,
    ) -> None:
        """Journal one offline row, in the caller's transaction when one is open (so it
        commits, or not, with the online change). ``features_json``: ``values`` as a
        FeatureValue list, when the caller has it already."""
        table = table_key(group)
        partition = partition_of(event_ms)
        with self.db.transaction() as conn:
            if self._tables.get(table) is not group:  # a new group, or a new definition
                conn.execute(
                    "INSERT OR REPLACE INTO offline_tables VALUES (?, ?)",
                    (table, json.dumps(group.doc)),
                )
                self.db.after_commit(functools.partial(self._tables.__setitem__, table, group))
            cursor = conn.execute(
                "INSERT INTO offline_rows (tbl, partition, event_ms, api_ms, deleted, features) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (
                    table,
                    partition,
                    event_ms,
                    api_invocation_ms,
                    int(is_deleted),
                    features_json or _features_json(values),
                ),
            )
            row = _Row(int(cursor.lastrowid or 0), values, event_ms, api_invocation_ms, is_deleted)
            self.db.after_commit(functools.partial(self._buffer, group, table, partition, row))

    def _buffer(self, group: FeatureGroup, table: str, partition: str, row: _Row) -> None:
        with self._lock:
            buf = self._buffers.get((table, partition))
            if buf is None:
                buf = self._buffers[(table, partition)] = _Buffer(group, table, partition)
            elif buf.group is not group:
                # UpdateFeatureGroup only adds features, so the newest definition is a
                # superset: older rows simply get nulls in the added columns.
                buf.group = group
            buf.add(row)
            self._pending += 1
            if self._pending >= self.max_buffered_rows:
                self.wakeup.set()

    @property
    def pending_rows(self) -> int:
        return self._pending + sum(len(b.rows) for b in self._retry)

    # -- moving rows to Parquet ------------------------------------------------------------------

    def flush_due(self) -> None:
        """Write buffers older than the flush interval (or all, when over the row cap), and
        retry failed files whose wait is over."""
        now = time.monotonic()
        with self._lock:
            force = self._pending >= self.max_buffered_rows
            due = [
                k
                for k, b in self._buffers.items()
                if force or now - b.first_ms >= self.flush_interval
            ]
            taken = [self._buffers.pop(k) for k in due]
            self._pending -= sum(len(b.rows) for b in taken)
            retry = [b for b in self._retry if now - b.first_ms >= self.flush_interval]
            self._retry = [b for b in self._retry if b not in retry]
        self._move(retry + taken)

    def flush(self, fallback_local: bool = False) -> None:
        """Write everything now (shutdown, tests); optionally keep failed S3 writes locally."""
        with self._lock:
            taken = self._retry + list(self._buffers.values())
            self._buffers.clear()
            self._retry = []
            self._pending = 0
        self._move(taken, fallback_local=fallback_local)

    def recover(self) -> None:
        """Finish what a crash interrupted, before anything is served: a file whose rows are
        all still journaled is written again under its name (it may be missing, or complete:
        rows are deleted only after their file is written, so a claim that lost some rows
        had its file written already); every other row is moved as usual."""
        with self.db.transaction() as conn:
            docs = dict(conn.execute("SELECT tbl, doc FROM offline_tables").fetchall())
            claims = conn.execute(
                "SELECT file, tbl, partition, row_ids FROM offline_files"
            ).fetchall()
            rows = conn.execute(
                "SELECT id, tbl, partition, event_ms, api_ms, deleted, features "
                "FROM offline_rows ORDER BY id"
            ).fetchall()
        groups = {table: FeatureGroup(json.loads(doc)) for table, doc in docs.items()}
        journaled = {
            row[0]: _Row(row[0], _values_of(row[6]), row[3], row[4], bool(row[5])) for row in rows
        }
        rewrite: list[_Buffer] = []
        for file, table, partition, row_ids in claims:
            buf = _Buffer(groups[table], table, partition, file=file)
            for row_id in json.loads(row_ids):
                if row_id in journaled:
                    buf.add(journaled.pop(row_id))
            if len(buf.rows) == len(json.loads(row_ids)):
                rewrite.append(buf)
            else:
                self._forget(buf)  # written before the crash; finish deleting its rows
        for row_id, table, partition, *_ in rows:
            if row_id in journaled:  # in no claim
                self._buffer(groups[table], table, partition, journaled[row_id])
        if rows:
            log.info(
                "offline store: moving %d row(s) left by an earlier run (%d file(s) to rewrite)",
                len(rows),
                len(rewrite),
            )
        self._move(rewrite)
        self.flush()
        with self.db.transaction() as conn:
            conn.execute(
                "DELETE FROM offline_tables WHERE tbl NOT IN (SELECT tbl FROM offline_rows)"
            )

    def _move(self, buffers: list[_Buffer], fallback_local: bool = False) -> None:
        with self._write_lock:
            for buf in buffers:
                uri = buf.group.resolved_output_uri
                if uri is None:  # nowhere to write (never the case for a created group)
                    self._forget(buf)
                    continue
                if buf.file is None:
                    self._claim(buf, uri)
                try:
                    self._write(buf, local=False)
                except Exception as exc:  # S3 down, bucket missing, bad location: keep rows
                    self._blocked(buf, f"Offline store write failed: {exc}")
                    if not (fallback_local and self._write_locally(buf)):
                        buf.first_ms = time.monotonic()
                        with self._lock:
                            self._retry.append(buf)  # same file name: retried exactly once
                    continue
                self._forget(buf)
                self.blocked.pop(buf.group.arn, None)

    def _blocked(self, buf: _Buffer, reason: str) -> None:
        reason = reason[:1024]
        repeated = self.blocked.get(buf.group.arn) == reason
        log.log(logging.DEBUG if repeated else logging.WARNING, "%s (%s)", reason, buf.group.name)
        self.blocked[buf.group.arn] = reason

    def _write_locally(self, buf: _Buffer) -> bool:
        try:
            self._write(buf, local=True)
        except Exception:  # kept in the journal; the next start tries again
            log.warning("offline rows of %s stay journaled for the next start", buf.group.name)
            return False
        self._forget(buf)
        return True

    def _claim(self, buf: _Buffer, uri: str) -> None:
        """Name the buffer's file and record which rows it holds, before writing it."""
        bucket, prefix = split_s3_uri(uri)
        latest = _instant(buf.max_event_ms).strftime("%Y%m%dT%H%M%SZ")
        suffix = secrets.token_hex(8)  # 16 alphanumeric chars; one call, not 16 choices
        buf.file = f"{bucket}/{prefix}/{buf.partition}/{latest}_{suffix}.parquet"
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO offline_files VALUES (?, ?, ?, ?)",
                (buf.file, buf.table, buf.partition, json.dumps([r.id for r in buf.rows])),
            )

    def _forget(self, buf: _Buffer) -> None:
        """Delete the rows of a written file, a slice per transaction so requests wait at
        most one slice for the lock; the claim goes last, so a crash midway leaves a claim
        with rows missing, which :meth:`recover` reads as "written"."""
        ids = [r.id for r in buf.rows]
        for start in range(0, len(ids), _FORGET_SLICE):
            with self.db.transaction() as conn:
                conn.execute(
                    "DELETE FROM offline_rows WHERE id IN (SELECT value FROM json_each(?))",
                    (json.dumps(ids[start : start + _FORGET_SLICE]),),
                )
        if buf.file is not None:
            with self.db.transaction() as conn:
                conn.execute("DELETE FROM offline_files WHERE file=?", (buf.file,))

    def _write(self, buf: _Buffer, local: bool) -> None:
        import io

        import pyarrow as pa
        import pyarrow.parquet as pq

        if buf.file is None:
            raise RuntimeError("an offline buffer is written only once claimed")
        bucket, _, key = buf.file.partition("/")
        path = local_path(self.local_root, bucket, key)  # checked in S3 mode too
        group = buf.group
        write_ms = int(time.time() * 1000)
        columns: dict[str, Any] = {}
        for d in group.doc["FeatureDefinitions"]:
            name, ftype = d["FeatureName"], d["FeatureType"]
            arrow_type = {"Integral": pa.int64(), "Fractional": pa.float64()}.get(
                ftype, pa.string()
            )
            convert: Callable[[str], Any] = {"Integral": int, "Fractional": float}.get(ftype, str)
            if d.get("CollectionType"):
                arrow_type = pa.list_(arrow_type)
                values = [
                    None if (v := r.values.get(name)) is None else [convert(x) for x in v]
                    for r in buf.rows
                ]
            else:
                values = [
                    None if (v := r.values.get(name)) is None else convert(v) for r in buf.rows
                ]
            columns[name] = pa.array(values, type=arrow_type)
        ts = pa.timestamp("ms", tz="UTC")
        columns["write_time"] = pa.array([write_ms] * len(buf.rows), type=ts)
        columns["api_invocation_time"] = pa.array([r.api_ms for r in buf.rows], type=ts)
        columns["is_deleted"] = pa.array([r.deleted for r in buf.rows], type=pa.bool_())
        table = pa.table(columns)
        if self._s3_factory is not None and not local:
            sink = io.BytesIO()
            pq.write_table(table, sink, **_PARQUET_OPTIONS)
            if self._s3 is None:
                self._s3 = self._s3_factory()
            self._s3.put_object(Bucket=bucket, Key=key, Body=sink.getvalue())
        else:
            if path.parent not in self._made_dirs:  # one mkdir per partition, not per file
                path.parent.mkdir(parents=True, exist_ok=True)
                self._made_dirs.add(path.parent)
            tmp = path.with_suffix(".parquet.tmp")
            with tmp.open("wb") as out:  # a file object: pyarrow skips filesystem resolution
                pq.write_table(table, out, **_PARQUET_OPTIONS)
            tmp.replace(path)  # readers never see a half-written file
        self.files_written += 1
        log.debug("offline store: wrote %d rows to %s", len(buf.rows), buf.file)
