"""One drift run over feature groups: read both windows, compare, write the reports.

The same path serves ``featurestream monitor drift`` and the demo. Rows come through
Athena's API (:mod:`monitoring.offline_window`): the local stack's stand-in on DuckDB, or
Athena on AWS, as for the deployed scheduled check, whose window clause it shares.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from featurestream.contract.catalog import FEATURE_GROUPS, FeatureGroupSpec
from monitoring.drift import DriftReport, Thresholds, compute_drift
from monitoring.offline_window import (
    EPOCH_COLUMN,
    OfflineReader,
    OfflineReadError,
    time_window,
    window_sql,
    within,
)
from monitoring.report import write_report
from monitoring.windows import Window

if TYPE_CHECKING:
    import pyarrow as pa


@dataclass(frozen=True)
class DriftResult:
    report: DriftReport
    html: Path
    json: Path


@dataclass(frozen=True)
class DriftProblem:
    """A group whose drift could not be computed, and why (for the user)."""

    group: str
    reason: str


class Windows(Protocol):
    """Which rows to read for a group (``condition``, SQL) and how to split them in two."""

    def condition(self) -> str: ...

    def split(self, group: str, rows: pa.Table) -> tuple[Window, Window]: ...


@dataclass(frozen=True)
class FixedWindows:
    """The same baseline and current windows for every group."""

    baseline: Window
    current: Window

    def condition(self) -> str:
        """Rows in either window (only those cross the wire)."""
        baseline, current = time_window(self.baseline), time_window(self.current)
        return f"({baseline.where()}) OR ({current.where()})"

    def split(self, group: str, rows: pa.Table) -> tuple[Window, Window]:
        return self.baseline, self.current


class Halves:
    """Each group's older half of its event-time range against its newer half."""

    def condition(self) -> str:
        return time_window(Window(None, None)).where()

    def split(self, group: str, rows: pa.Table) -> tuple[Window, Window]:
        import pyarrow.compute as pc

        span = pc.min_max(rows.column(EPOCH_COLUMN))
        oldest, newest = span["min"].as_py(), span["max"].as_py()
        if oldest is None:
            raise OfflineReadError(f"feature group {group} has no offline rows")
        middle = datetime.fromtimestamp(oldest + (newest - oldest) / 2, UTC)
        return Window(None, middle), Window(middle, None)


def training_window(manifest: Path) -> Window:
    """The default baseline: the training set's window recorded in the model's manifest
    (``featurestream train`` writes its first and last label time; the last is included)."""
    from featurestream.contract.model_contract import load_contract

    try:
        recorded = load_contract(manifest).training_window()
    except (OSError, ValueError, KeyError, TypeError):
        raise OfflineReadError(f"cannot read the model manifest {manifest}") from None
    if recorded is None:
        raise OfflineReadError(
            f"the model manifest {manifest} records no training window (written by an older "
            "`featurestream train`): retrain, or give --baseline"
        )
    first, last = recorded
    return Window(first, last + timedelta(milliseconds=1))


def groups_named(name: str | None) -> list[FeatureGroupSpec]:
    """One catalog group by logical name, or all of them for ``None``."""
    if name is None:
        return list(FEATURE_GROUPS)
    return [g for g in FEATURE_GROUPS if g.name == name]


def run_drift(
    groups: list[FeatureGroupSpec],
    windows: Windows,
    *,
    reader: OfflineReader,
    report_dir: Path,
    stack_name: str,
    thresholds: Thresholds,
) -> list[DriftResult | DriftProblem]:
    """Each group's report, or the problem that kept it from being computed."""
    results: list[DriftResult | DriftProblem] = []
    for group in groups:
        deployed = f"{stack_name}-{group.name}"
        try:
            results.append(
                _group_drift(
                    group,
                    deployed,
                    windows=windows,
                    reader=reader,
                    report_dir=report_dir,
                    thresholds=thresholds,
                )
            )
        except OfflineReadError as error:
            results.append(DriftProblem(group.name, str(error)))
    return results


def _group_drift(
    group: FeatureGroupSpec,
    deployed: str,
    *,
    windows: Windows,
    reader: OfflineReader,
    report_dir: Path,
    thresholds: Thresholds,
) -> DriftResult:
    table = reader.table(deployed)
    rows = reader.rows(deployed, window_sql(group, table, windows.condition()), table.database)
    baseline, current = windows.split(deployed, rows)
    base_rows = within(rows, baseline)
    current_rows = within(rows, current)
    for which, window, rows in (
        ("baseline", baseline, base_rows),
        ("current", current, current_rows),
    ):
        if rows.num_rows == 0:
            raise OfflineReadError(
                f"{deployed}: the {which} window {window.label()} holds no offline rows"
            )
    report = compute_drift(
        group,
        base_rows,
        current_rows,
        baseline_window=baseline.label(),
        current_window=current.label(),
        thresholds=thresholds,
    )
    html, json_path = write_report(report, report_dir)
    return DriftResult(report, html, json_path)


def summary_lines(results: list[DriftResult | DriftProblem]) -> list[str]:
    """One screen: per group its status and its features' PSI, then the report's path."""
    lines = []
    for result in results:
        if isinstance(result, DriftProblem):
            lines.append(f"{result.group:<10} not computed: {result.reason}")
            continue
        r = result.report
        base_rows = r.features[0].baseline.rows if r.features else 0
        cur_rows = r.features[0].current.rows if r.features else 0
        lines.append(
            f"{r.group:<10} {r.status.upper():<7} baseline {r.baseline_window} ({base_rows} rows)"
            f"  current {r.current_window} ({cur_rows} rows)"
        )
        for f in r.features:
            value = "n/a" if f.psi is None else f"{f.psi:.3f}"
            lines.append(f"  {f.feature:<28} PSI {value:>7}  {f.status}")
        lines.append(f"  report: {result.html}")
    return lines
