"""Freshness percentiles from the EMF documents the stream functions printed.

Locally the trigger runner writes the handlers' stdout to ``.state/logs/handlers.log``;
on AWS the same documents become CloudWatch metrics. This reads the local file and gives
p50/p99 per feature group, as CloudWatch would from the values arrays.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

FRESHNESS_METRICS = ("PipelineFreshness", "EventFreshness")


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass
class GroupFreshness:
    """Every freshness value (s) of one feature group, by metric name."""

    values: dict[str, list[float]] = field(default_factory=dict)

    def line(self, group: str) -> str:
        parts = []
        for metric in FRESHNESS_METRICS:
            got = self.values.get(metric) or []
            if got:
                parts.append(
                    f"{metric} p50 {_seconds(percentile(got, 50))} p99 "
                    f"{_seconds(percentile(got, 99))}"
                )
        count = len(self.values.get("PipelineFreshness") or [])
        return f"{group:<10} {count:>7} records  " + "  ".join(parts)


def _seconds(value: float) -> str:
    if value >= 86400:
        return f"{value / 86400:,.0f} d"
    return f"{value:,.2f} s"


def collect(lines: Iterable[str], since_ms: float = 0) -> dict[str, GroupFreshness]:
    """Freshness values per feature group from log lines, documents dated >= ``since_ms``."""
    groups: dict[str, GroupFreshness] = {}
    for line in lines:
        if '"PipelineFreshness"' not in line:
            continue
        try:
            doc = json.loads(line)
            if doc["_aws"]["Timestamp"] < since_ms:
                continue
            group = str(doc["FeatureGroup"])
        except (ValueError, KeyError, TypeError):
            continue
        entry = groups.setdefault(group, GroupFreshness())
        for metric in FRESHNESS_METRICS:
            value = doc.get(metric)
            if isinstance(value, list):
                entry.values.setdefault(metric, []).extend(float(v) for v in value)
    return groups


def summarize(log_file: Path, since_ms: float = 0) -> list[str]:
    """One line per feature group, or a line saying there is nothing yet."""
    if not log_file.exists():
        return ["freshness: no handler log yet"]
    with log_file.open(errors="replace") as handle:
        groups = collect(handle, since_ms)
    if not groups:
        return ["freshness: no records written yet"]
    return [groups[name].line(name) for name in sorted(groups)]
