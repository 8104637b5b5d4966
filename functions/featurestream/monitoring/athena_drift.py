"""The scheduled drift check on AWS: bin counts computed by Athena over the offline store,
PSI in plain Python, one CloudWatch metric per feature.

Lean on purpose: no pandas, numpy or scipy in the Lambda. Athena does the heavy part (the
baseline's deciles with ``approx_percentile``, then counts per bin for both windows, and the
current window's mean); the function only sums shares. It publishes what the alarms use:
``FeaturePSI`` and ``FeatureMean`` (dimensions FeatureGroup, Feature) and ``MaxFeaturePSI``
(dimension FeatureGroup). KS and chi-square, the HTML report and the null rates are the
local command's (``featurestream monitor drift``), which computes the same PSI.
"""

# ruff: noqa: S608 - the SQL is built from catalog names (quoted) and values formatted here
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise
from typing import Any, Final

from featurestream.contract.catalog import FeatureGroupSpec
from featurestream.monitoring.psi import psi, shares
from featurestream.offline.athena import result_pages, start_query, wait_for

DECILES: Final = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
_TABLE: Final = re.compile(r"^[A-Za-z0-9_]{1,255}$")


@dataclass(frozen=True)
class TimeWindow:
    """Event times ``start <= t < end`` (either side open when ``None``)."""

    start: datetime | None
    end: datetime | None

    def where(self) -> str:
        """The SQL condition; the instants are formatted here, never taken from input."""
        parts = ["NOT is_deleted"]
        if self.start is not None:
            parts.append(f"from_iso8601_timestamp(event_time) >= {_timestamp(self.start)}")
        if self.end is not None:
            parts.append(f"from_iso8601_timestamp(event_time) < {_timestamp(self.end)}")
        return " AND ".join(parts)


def _timestamp(moment: datetime) -> str:
    return f"from_iso8601_timestamp('{moment.strftime('%Y-%m-%dT%H:%M:%S.%f')[:-3]}Z')"


def _column(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def edges_sql(table: str, feature: str, baseline: TimeWindow) -> str:
    """The baseline's deciles of a continuous feature (the fixed bins' inner edges)."""
    deciles = ", ".join(str(q) for q in DECILES)
    column = _column(feature)
    return (
        f"SELECT approx_percentile(CAST({column} AS double), ARRAY[{deciles}]) "  # nosec B608
        f"FROM {_checked(table)} WHERE {baseline.where()} AND {column} IS NOT NULL"
    )


def continuous_counts_sql(
    table: str, feature: str, edges: Sequence[float], window: TimeWindow
) -> str:
    """Rows per bin (``< e1``, ``[e1, e2)`` ... ``>= en``) and the mean, in one row."""
    column = _column(feature)
    bins = []
    bounds = [None, *edges, None]
    for low, high in pairwise(bounds):
        conditions = [f"{column} IS NOT NULL"]
        if low is not None:
            conditions.append(f"{column} >= {float(low)!r}")
        if high is not None:
            conditions.append(f"{column} < {float(high)!r}")
        bins.append(f"count_if({' AND '.join(conditions)})")
    return (
        f"SELECT {', '.join(bins)}, avg(CAST({column} AS double)) "  # nosec B608
        f"FROM {_checked(table)} WHERE {window.where()}"
    )


def categorical_counts_sql(table: str, feature: str, window: TimeWindow) -> str:
    """Rows per value."""
    column = _column(feature)
    return (
        f"SELECT CAST({column} AS varchar), count(*) FROM {_checked(table)} "  # nosec B608
        f"WHERE {window.where()} AND {column} IS NOT NULL GROUP BY 1"
    )


def _checked(table: str) -> str:
    if not _TABLE.match(table):
        raise ValueError("the offline store's table name has unexpected characters")
    return _column(table)


class Athena:
    """Runs one query at a time in a workgroup and returns its rows as Athena's text: the
    start, wait and paging of :mod:`featurestream.offline.athena`, without typing (the drift
    SQL's arrays and counts are parsed here)."""

    def __init__(
        self,
        client: Any,
        *,
        workgroup: str,
        database: str,
        timeout_s: float = 600.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._client = client
        self._workgroup = workgroup
        self._database = database
        self._timeout_s = timeout_s
        self._sleep = sleep

    def rows(self, sql: str) -> list[list[str | None]]:
        query_id = start_query(
            self._client, sql, database=self._database, workgroup=self._workgroup
        )
        wait_for(self._client, query_id, timeout=self._timeout_s, sleep=self._sleep)
        out = [
            [cell.get("VarCharValue") for cell in row["Data"]]
            for page in result_pages(self._client, query_id)
            for row in page["ResultSet"]["Rows"]
        ]
        return out[1:]  # the first row of the first page is the header


@dataclass(frozen=True)
class FeaturePsi:
    feature: str
    psi: float
    current_mean: float | None


def _array(text: str | None) -> list[float]:
    """Athena's text form of an array of doubles: ``[0.1, 0.25, ...]``."""
    inner = (text or "").strip().strip("[]")
    return sorted({float(x) for x in inner.split(",") if x.strip()})


def group_drift(
    athena: Athena, group: FeatureGroupSpec, table: str, baseline: TimeWindow, current: TimeWindow
) -> list[FeaturePsi]:
    """PSI of every numeric feature of ``group`` (continuous: the baseline's deciles as
    fixed bins; categorical: the baseline's values plus one bin for new values)."""
    results = []
    for feature in group.features:
        if feature.type == "String" or not feature.drift_compared:
            continue
        if feature.type == "Fractional":
            edges = _array(athena.rows(edges_sql(table, feature.name, baseline))[0][0])
            base_row = athena.rows(continuous_counts_sql(table, feature.name, edges, baseline))[0]
            cur_row = athena.rows(continuous_counts_sql(table, feature.name, edges, current))[0]
            base_counts = [float(v or 0) for v in base_row[:-1]]
            cur_counts = [float(v or 0) for v in cur_row[:-1]]
            mean = float(cur_row[-1]) if cur_row[-1] is not None else None
        else:
            base = {
                r[0]: float(r[1] or 0)
                for r in athena.rows(categorical_counts_sql(table, feature.name, baseline))
            }
            cur = {
                r[0]: float(r[1] or 0)
                for r in athena.rows(categorical_counts_sql(table, feature.name, current))
            }
            values = sorted(k for k in base if k is not None)
            base_counts = [base[v] for v in values] + [0.0]
            cur_counts = [cur.get(v, 0.0) for v in values]
            cur_counts.append(sum(n for k, n in cur.items() if k not in base))
            total = sum(cur.values())
            mean = (
                sum(float(k) * n for k, n in cur.items() if k is not None) / total
                if total
                else None
            )
        if not sum(base_counts) or not sum(cur_counts):
            continue  # a window without rows: nothing to compare (the function logs it)
        results.append(FeaturePsi(feature.name, psi(shares(base_counts), shares(cur_counts)), mean))
    return results
