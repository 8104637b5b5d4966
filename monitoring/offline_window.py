"""``read_window``: one feature group's offline-store rows whose event time is in a window.

THE INTERIM READER. It runs DuckDB directly over the local Feature Store emulator's offline
Parquet files (``<state>/featurestore/offline-store/<bucket>/.../<group>-<epoch>/data/
year=/month=/day=/hour=/*.parquet``). When the offline-store query path lands (Athena on
AWS, its local stand-in on DuckDB), this function is the one place to switch to it: the
drift computation only sees the table returned here.

Rows are every write (the offline store is append-only), without delete markers.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from monitoring.windows import Window

if TYPE_CHECKING:
    import pyarrow as pa


class OfflineReadError(RuntimeError):
    """The window could not be read; the message is for the user."""


def group_files(offline_root: Path, group: str) -> list[Path]:
    """Every Parquet file of ``group`` (its folder is ``<group>-<creation epoch>``)."""
    folder = re.compile(rf"^{re.escape(group)}-\d+$")
    return sorted(
        path
        for path in offline_root.rglob("*.parquet")
        if any(folder.match(part) for part in path.relative_to(offline_root).parts[:-1])
    )


def _where(window: Window) -> tuple[str, list[object]]:
    """The SQL condition of a window (fixed clauses; the instants are parameters)."""
    where = ["NOT coalesce(is_deleted, false)"]
    params: list[object] = []
    if window.start is not None:
        where.append("CAST(event_time AS TIMESTAMPTZ) >= ?")
        params.append(window.start)
    if window.end is not None:
        where.append("CAST(event_time AS TIMESTAMPTZ) < ?")
        params.append(window.end)
    return " AND ".join(where), params


def _query(group: str, query: str, params: list[object], **tables: object) -> pa.Table:
    import duckdb

    try:
        with duckdb.connect() as connection:
            connection.execute("SET TimeZone = 'UTC'")
            for name, table in tables.items():
                connection.register(name, table)
            return connection.sql(query, params=params).to_arrow_table()
    except duckdb.Error as error:  # a damaged file, an unreadable event time
        raise OfflineReadError(
            f"reading {group}'s offline rows failed: {type(error).__name__}"
        ) from None


def within(group: str, rows: pa.Table, window: Window) -> pa.Table:
    """The rows of an already read table whose event time is in ``window`` (in memory: a
    window inside a span read once costs no second pass over the files)."""
    where, params = _where(window)
    query = "SELECT * FROM fs_rows "
    query += "WHERE " + where  # nosec B608
    return _query(group, query, params, fs_rows=rows)


def event_time_range(group: str, rows: pa.Table) -> tuple[datetime, datetime]:
    """The oldest and newest event time of rows already read."""
    query = (
        "SELECT min(CAST(event_time AS TIMESTAMPTZ)) AS oldest, "
        "max(CAST(event_time AS TIMESTAMPTZ)) AS newest FROM fs_rows"
    )
    found = _query(group, query, [], fs_rows=rows).to_pylist()
    if not found or found[0]["oldest"] is None:
        raise OfflineReadError(f"feature group {group} has no offline rows")
    return found[0]["oldest"], found[0]["newest"]


def read_window(group: str, window: Window, *, offline_root: Path) -> pa.Table:
    """The group's rows with ``window.start <= event_time < window.end`` as an Arrow table."""
    files = group_files(offline_root, group)
    if not files:
        raise OfflineReadError(
            f"no offline files for feature group {group} under {offline_root} "
            "(has the stack written any records, and flushed them?)"
        )
    where, params = _where(window)
    # fixed clauses only; every value is a parameter
    query = "SELECT * FROM read_parquet(?, union_by_name = true, hive_partitioning = false) "
    query += "WHERE " + where  # nosec B608
    return _query(group, query, [[str(f) for f in files], *params])
