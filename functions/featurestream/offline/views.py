"""Built-in views of an offline table, as SQL (Athena's Trino dialect).

* :func:`latest_as_of`: each record's newest row with event time at or before a moment,
  deleted records left out: what the online store holds for that moment. Ties in event time
  go to the later ``api_invocation_time``, then the later ``write_time``.
* :func:`as_known_at`: the same, counting only rows written (``write_time``) at or before a
  cutoff: what the online store could have served then, late events included only once
  they had arrived.
* :func:`deduplicated`: a redelivered event leaves two offline rows with the same record
  identifier and event time (and, for time-relative features recomputed when written again,
  possibly different values); this keeps the first written.

docs/offline.md shows each with its output.
"""

from __future__ import annotations

from datetime import UTC, datetime

from featurestream.offline.tables import OfflineTable


def timestamp_literal(moment: datetime) -> str:
    """A Trino ``TIMESTAMP`` literal of ``moment`` in UTC (millisecond precision)."""
    utc = moment.astimezone(UTC).replace(tzinfo=None)
    return f"TIMESTAMP '{utc.isoformat(sep=' ', timespec='milliseconds')}'"


def quoted(name: str) -> str:
    """A SQL identifier in double quotes (quotes inside doubled)."""
    return '"' + name.replace('"', '""') + '"'


def _latest(table: OfflineTable, where: list[str]) -> str:
    features = ", ".join(quoted(f) for f in table.features)
    event = f"from_iso8601_timestamp({quoted(table.event_time)})"
    condition = " AND ".join(where) if where else "TRUE"
    return (  # identifiers quoted, values are literals built here
        f"SELECT {features}, write_time, api_invocation_time FROM (\n"  # noqa: S608  # nosec B608
        f"  SELECT *, row_number() OVER (\n"
        f"    PARTITION BY {quoted(table.record_id)}\n"
        f"    ORDER BY {event} DESC, api_invocation_time DESC, write_time DESC\n"
        f"  ) AS row_rank\n"
        f"  FROM {table.qualified}\n"
        f"  WHERE {condition}\n"
        f") WHERE row_rank = 1 AND NOT is_deleted"
    )


def latest_as_of(table: OfflineTable, moment: datetime | None = None) -> str:
    """Each record's newest row by event time at or before ``moment`` (None: all time)."""
    event = f"from_iso8601_timestamp({quoted(table.event_time)})"
    where = [f"{event} <= {timestamp_literal(moment)}"] if moment else []
    return _latest(table, where)


def as_known_at(table: OfflineTable, cutoff: datetime) -> str:
    """Each record's newest row among those written at or before ``cutoff``."""
    return _latest(table, [f"write_time <= {timestamp_literal(cutoff)}"])


def deduplicated(table: OfflineTable) -> str:
    """One row per (record identifier, event time, is_deleted): the first written."""
    features = ", ".join(quoted(f) for f in table.features)
    event = f"{quoted(table.record_id)}, {quoted(table.event_time)}, is_deleted"
    return (  # identifiers quoted
        f"SELECT {features}, is_deleted, write_time, api_invocation_time FROM (\n"  # noqa: S608  # nosec B608
        f"  SELECT *, row_number() OVER (\n"
        f"    PARTITION BY {event} ORDER BY write_time, api_invocation_time\n"
        f"  ) AS copy\n"
        f"  FROM {table.qualified}\n"
        f") WHERE copy = 1"
    )


VIEWS = {
    "latest": "each record's newest row at or before --as-of (default: now); deleted left out",
    "known-at": "each record's newest row written at or before --known-at: what the online "
    "store could serve then",
    "dedup": "the rows with redelivered copies removed (first written kept)",
}
