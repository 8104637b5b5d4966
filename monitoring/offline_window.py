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


def event_time_range(group: str, *, offline_root: Path) -> tuple[datetime, datetime]:
    """The oldest and newest event time of the group's offline rows."""
    import duckdb

    files = group_files(offline_root, group)
    if not files:
        raise OfflineReadError(f"no offline files for feature group {group} under {offline_root}")
    query = (
        "SELECT min(CAST(event_time AS TIMESTAMPTZ)), max(CAST(event_time AS TIMESTAMPTZ)) "
        "FROM read_parquet(?, union_by_name = true, hive_partitioning = false)"
    )
    try:
        with duckdb.connect() as connection:
            connection.execute("SET TimeZone = 'UTC'")
            row = connection.execute(query, [[str(f) for f in files]]).fetchone()
    except duckdb.Error as error:
        raise OfflineReadError(
            f"reading {group}'s offline files failed: {type(error).__name__}"
        ) from None
    if row is None or row[0] is None:
        raise OfflineReadError(f"feature group {group} has no offline rows")
    return row[0], row[1]


def read_window(group: str, window: Window, *, offline_root: Path) -> pa.Table:
    """The group's rows with ``window.start <= event_time < window.end`` as an Arrow table."""
    import duckdb

    files = group_files(offline_root, group)
    if not files:
        raise OfflineReadError(
            f"no offline files for feature group {group} under {offline_root} "
            "(has the stack written any records, and flushed them?)"
        )
    where = ["NOT coalesce(is_deleted, false)"]
    params: list[object] = [[str(f) for f in files]]
    if window.start is not None:
        where.append("CAST(event_time AS TIMESTAMPTZ) >= ?")
        params.append(window.start)
    if window.end is not None:
        where.append("CAST(event_time AS TIMESTAMPTZ) < ?")
        params.append(window.end)
    # fixed clauses only; every value is a parameter
    query = "SELECT * FROM read_parquet(?, union_by_name = true, hive_partitioning = false) "
    query += "WHERE " + " AND ".join(where)  # nosec B608
    try:
        with duckdb.connect() as connection:
            connection.execute("SET TimeZone = 'UTC'")
            return connection.sql(query, params=params).to_arrow_table()
    except duckdb.Error as error:  # a damaged file, an unreadable event time
        raise OfflineReadError(
            f"reading {group}'s offline files failed: {type(error).__name__}"
        ) from None
