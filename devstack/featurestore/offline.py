"""Offline store: rows buffered in memory and written as Parquet in micro-batches.

Files follow the service's key layout under the group's ``ResolvedOutputS3Uri``
(``.../data/year=/month=/day=/hour=/<latest event>_<16 chars>.parquet``, partitioned by
event time) and carry ``write_time``, ``api_invocation_time`` and ``is_deleted``. Writes go
to a local folder mirroring ``s3://bucket/key``, or to an S3 endpoint (moto) if configured.
A row waits at most ``flush_interval`` seconds; ``close()`` flushes everything.
"""

from __future__ import annotations

import functools
import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from devstack.featurestore.model import FeatureGroup

log = logging.getLogger("devstack.featurestore.offline")

_PARQUET_OPTIONS: dict[str, Any] = {"use_dictionary": False}
"""A flush writes a few rows per event-time hour, so a dictionary page never pays off; it
was a third of the write cost per file. Snappy and column statistics stay, as the service
writes them."""
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass
class _Buffer:
    group: FeatureGroup
    partition: str
    rows: list[tuple[dict[str, Any], int, int, bool]] = field(default_factory=list)
    first_ms: float = field(default_factory=time.monotonic)
    max_event_ms: int = -(2**62)


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


class OfflineStore:
    """Thread-safe buffer plus the Parquet writer; the caller drives ``flush_due``."""

    def __init__(
        self,
        local_root: Path,
        flush_interval: float,
        max_buffered_rows: int,
        s3_client_factory: Callable[[], Any] | None = None,
    ) -> None:
        self.local_root = local_root
        self.flush_interval = flush_interval
        self.max_buffered_rows = max_buffered_rows
        self._s3_factory = s3_client_factory
        self._s3: Any = None
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._buffers: dict[tuple[str, str], _Buffer] = {}
        self._pending = 0
        self.wakeup = threading.Event()
        self.blocked: dict[str, str] = {}  # group ARN -> reason, reported by Describe
        self.files_written = 0
        self._made_dirs: set[Path] = set()

    def append(
        self,
        group: FeatureGroup,
        values: dict[str, Any],
        event_ms: int,
        api_invocation_ms: int,
        is_deleted: bool = False,
    ) -> None:
        """Queue one offline row; cheap, so the request path stays fast."""
        partition = partition_of(event_ms)
        key = (group.arn + "@" + str(group.creation_epoch), partition)
        with self._lock:
            buf = self._buffers.get(key)
            if buf is None:
                buf = self._buffers[key] = _Buffer(group, partition)
            elif buf.group is not group:
                # UpdateFeatureGroup only adds features, so the newest definition is a
                # superset: older rows simply get nulls in the added columns.
                buf.group = group
            buf.rows.append((values, event_ms, api_invocation_ms, is_deleted))
            buf.max_event_ms = max(buf.max_event_ms, event_ms)
            self._pending += 1
            if self._pending >= self.max_buffered_rows:
                self.wakeup.set()

    @property
    def pending_rows(self) -> int:
        return self._pending

    def flush_due(self) -> None:
        """Write buffers older than the flush interval (or all, when over the row cap)."""
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
        self._write_all(taken)

    def flush(self, fallback_local: bool = False) -> None:
        """Write everything now (shutdown, tests); optionally keep failed S3 writes locally."""
        with self._lock:
            taken = list(self._buffers.values())
            self._buffers.clear()
            self._pending = 0
        self._write_all(taken, fallback_local=fallback_local)

    def _write_all(self, buffers: list[_Buffer], fallback_local: bool = False) -> None:
        with self._write_lock:
            for buf in buffers:
                try:
                    self._write(buf, local=False)
                    self.blocked.pop(buf.group.arn, None)
                except Exception as exc:  # S3 down or bucket missing: keep the rows
                    reason = f"Offline store write failed: {exc}"
                    log.warning("%s (%s)", reason, buf.group.name)
                    self.blocked[buf.group.arn] = reason[:1024]
                    if fallback_local:
                        self._write(buf, local=True)
                    else:
                        self._requeue(buf)

    def _requeue(self, buf: _Buffer) -> None:
        key = (buf.group.arn + "@" + str(buf.group.creation_epoch), buf.partition)
        with self._lock:
            existing = self._buffers.get(key)
            if existing is not None:
                buf.rows.extend(existing.rows)
                buf.max_event_ms = max(buf.max_event_ms, existing.max_event_ms)
            buf.first_ms = time.monotonic()
            self._buffers[key] = buf
            self._pending += len(buf.rows) - (len(existing.rows) if existing else 0)

    def _write(self, buf: _Buffer, local: bool) -> None:
        import io

        import pyarrow as pa
        import pyarrow.parquet as pq

        group = buf.group
        uri = group.resolved_output_uri
        if uri is None:
            return
        write_ms = int(time.time() * 1000)
        columns: dict[str, Any] = {}
        fields = []
        for d in group.doc["FeatureDefinitions"]:
            name, ftype = d["FeatureName"], d["FeatureType"]
            arrow_type = {"Integral": pa.int64(), "Fractional": pa.float64()}.get(
                ftype, pa.string()
            )
            convert: Callable[[str], Any] = {"Integral": int, "Fractional": float}.get(ftype, str)
            if d.get("CollectionType"):
                arrow_type = pa.list_(arrow_type)
                values = [
                    None if (v := r[0].get(name)) is None else [convert(x) for x in v]
                    for r in buf.rows
                ]
            else:
                values = [None if (v := r[0].get(name)) is None else convert(v) for r in buf.rows]
            columns[name] = pa.array(values, type=arrow_type)
            fields.append(pa.field(name, arrow_type))
        ts = pa.timestamp("ms", tz="UTC")
        columns["write_time"] = pa.array([write_ms] * len(buf.rows), type=ts)
        columns["api_invocation_time"] = pa.array([r[2] for r in buf.rows], type=ts)
        columns["is_deleted"] = pa.array([r[3] for r in buf.rows], type=pa.bool_())
        table = pa.table(columns)
        latest = _instant(buf.max_event_ms).strftime("%Y%m%dT%H%M%SZ")
        suffix = secrets.token_hex(8)  # 16 alphanumeric chars; one call, not 16 choices
        bucket, prefix = split_s3_uri(uri)
        key = f"{prefix}/{buf.partition}/{latest}_{suffix}.parquet"
        if self._s3_factory is not None and not local:
            sink = io.BytesIO()
            pq.write_table(table, sink, **_PARQUET_OPTIONS)
            if self._s3 is None:
                self._s3 = self._s3_factory()
            self._s3.put_object(Bucket=bucket, Key=key, Body=sink.getvalue())
        else:
            path = self.local_root / bucket / key
            if path.parent not in self._made_dirs:  # one mkdir per partition, not per file
                path.parent.mkdir(parents=True, exist_ok=True)
                self._made_dirs.add(path.parent)
            tmp = path.with_suffix(".parquet.tmp")
            with tmp.open("wb") as out:  # a file object: pyarrow skips filesystem resolution
                pq.write_table(table, out, **_PARQUET_OPTIONS)
            tmp.replace(path)  # readers never see a half-written file
        self.files_written += 1
        log.debug("offline store: wrote %d rows to %s/%s", len(buf.rows), bucket, key)
