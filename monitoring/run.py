"""One drift run over feature groups: read both windows, compare, write the reports.

The same path serves ``featurestream monitor drift`` and the demo; the deployed scheduled
function runs the comparison in :mod:`monitoring.drift` on Athena's rows instead of
:func:`monitoring.offline_window.read_window`'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from featurestream.contract.catalog import FEATURE_GROUPS, FeatureGroupSpec
from featurestream.contract.params import load_params
from monitoring.drift import DriftReport, Thresholds, compute_drift
from monitoring.offline_window import OfflineReadError, event_time_range, read_window, within
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
    """Which rows to read for a group (``span``) and how to split them in two."""

    def span(self) -> Window: ...

    def split(self, group: str, rows: pa.Table) -> tuple[Window, Window]: ...


@dataclass(frozen=True)
class FixedWindows:
    """The same baseline and current windows for every group."""

    baseline: Window
    current: Window

    def span(self) -> Window:
        starts = [self.baseline.start, self.current.start]
        ends = [self.baseline.end, self.current.end]
        return Window(
            None if None in starts else min(s for s in starts if s is not None),
            None if None in ends else max(e for e in ends if e is not None),
        )

    def split(self, group: str, rows: pa.Table) -> tuple[Window, Window]:
        return self.baseline, self.current


class Halves:
    """Each group's older half of its event-time range against its newer half."""

    def span(self) -> Window:
        return Window(None, None)

    def split(self, group: str, rows: pa.Table) -> tuple[Window, Window]:
        oldest, newest = event_time_range(group, rows)
        middle = oldest + (newest - oldest) / 2
        return Window(None, middle), Window(middle, None)


def training_window() -> Window:
    """The default baseline: the history the deployed parameters and model were fitted on,
    i.e. every event up to and including ``fitted_as_of`` of ``params.json`` (the model's
    manifest names that params version)."""
    return Window(None, load_params().fitted_as_of + timedelta(milliseconds=1))


def groups_named(name: str | None) -> list[FeatureGroupSpec]:
    """One catalog group by logical name, or all of them for ``None``."""
    if name is None:
        return list(FEATURE_GROUPS)
    return [g for g in FEATURE_GROUPS if g.name == name]


def run_drift(
    groups: list[FeatureGroupSpec],
    windows: Windows,
    *,
    offline_root: Path,
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
                    offline_root=offline_root,
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
    offline_root: Path,
    report_dir: Path,
    thresholds: Thresholds,
) -> DriftResult:
    rows = read_window(deployed, windows.span(), offline_root=offline_root)  # one pass
    baseline, current = windows.split(deployed, rows)
    base_rows = within(deployed, rows, baseline)
    current_rows = within(deployed, rows, current)
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
