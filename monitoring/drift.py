"""Feature drift between two windows of offline rows: PSI with the baseline's fixed bins,
KS (continuous) or chi-square (categorical) from scipy, null rates, means and deviations.

The inputs are two Arrow tables of one feature group's offline rows (from
Athena, :mod:`monitoring.offline_window`); which features are compared and how comes
from the catalog: ``Fractional`` features are continuous, ``Integral`` ones categorical,
``String`` ones (identifiers, timestamps, versions) and running totals
(``drift_compared=False``) are not compared.

PSI = sum over bins of (current% - baseline%) * ln(current% / baseline%), with the bins
fixed from the baseline (deciles for continuous features, the baseline's values for
categorical ones plus one bin for values the baseline never had) and empty bins given a
small floor so the logarithm is defined.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from scipy import stats

from featurestream.contract.catalog import FeatureGroupSpec
from featurestream.monitoring.psi import psi as psi_of_shares

if TYPE_CHECKING:
    import pyarrow as pa

Status = Literal["stable", "watch", "drift"]
CONTINUOUS_BINS = 10


@dataclass(frozen=True)
class Thresholds:
    """PSI below ``watch`` is stable, from ``watch`` to ``drift`` worth watching, above drift."""

    watch: float = 0.1
    drift: float = 0.25

    def __post_init__(self) -> None:
        if not 0 < self.watch <= self.drift:
            raise ValueError("thresholds must satisfy 0 < watch <= drift")

    def status(self, psi: float) -> Status:
        if psi > self.drift:
            return "drift"
        return "watch" if psi >= self.watch else "stable"


@dataclass
class Side:
    """One window's view of a feature."""

    rows: int
    null_rate: float
    mean: float | None
    std: float | None
    shares: list[float]


@dataclass
class FeatureDrift:
    feature: str
    kind: Literal["continuous", "categorical"]
    psi: float | None
    """None when a window has no value of the feature (reported as drift: it vanished)."""
    status: Status
    test: Literal["ks", "chi-square"]
    statistic: float | None
    p_value: float | None
    bins: list[str]
    edges: list[float] | None
    baseline: Side
    current: Side


@dataclass
class DriftReport:
    group: str
    baseline_window: str
    current_window: str
    thresholds: Thresholds
    features: list[FeatureDrift] = field(default_factory=list)

    @property
    def status(self) -> Status:
        order: dict[Status, int] = {"stable": 0, "watch": 1, "drift": 2}
        worst: Status = "stable"
        for feature in self.features:
            if order[feature.status] > order[worst]:
                worst = feature.status
        return worst

    def to_json(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "baseline_window": self.baseline_window,
            "current_window": self.current_window,
            "thresholds": asdict(self.thresholds),
            "status": self.status,
            "features": [asdict(f) for f in self.features],
        }


def _column(table: pa.Table, name: str) -> tuple[np.ndarray, int]:
    """The non-null values of a column as floats, and the row count."""
    rows = table.num_rows
    if name not in table.column_names:
        return np.empty(0), rows
    values = table.column(name).drop_null().to_numpy(zero_copy_only=False)
    return values.astype(float), rows


def _shares(counts: np.ndarray) -> np.ndarray:
    total = counts.sum()
    if total == 0:
        return np.zeros_like(counts, dtype=float)
    shares: np.ndarray = counts / total
    return shares


def psi(baseline_shares: np.ndarray, current_shares: np.ndarray) -> float:
    """Population stability index of two share vectors over the same bins (the one copy is
    :func:`featurestream.monitoring.psi.psi`, which the drift Lambda runs too)."""
    return psi_of_shares(baseline_shares.tolist(), current_shares.tolist())


def _side(values: np.ndarray, rows: int, shares: np.ndarray) -> Side:
    return Side(
        rows=rows,
        null_rate=round(1 - len(values) / rows, 6) if rows else 0.0,
        mean=float(values.mean()) if len(values) else None,
        std=float(values.std(ddof=1)) if len(values) > 1 else None,
        shares=[round(float(s), 6) for s in shares],
    )


def continuous_edges(baseline: np.ndarray, bins: int = CONTINUOUS_BINS) -> np.ndarray:
    """Inner bin edges at the baseline's quantiles (duplicates merged); the outer bins are
    open-ended, so every current value falls in some bin."""
    quantiles = np.quantile(baseline, np.linspace(0, 1, bins + 1)[1:-1])
    return np.unique(quantiles)


def compare_continuous(name: str, base: np.ndarray, cur: np.ndarray) -> tuple[Any, ...]:
    edges = continuous_edges(base)
    base_counts = np.bincount(np.searchsorted(edges, base, side="right"), minlength=len(edges) + 1)
    cur_counts = np.bincount(np.searchsorted(edges, cur, side="right"), minlength=len(edges) + 1)
    ks = stats.ks_2samp(base, cur)
    labels = (
        [
            f"< {edges[0]:.4g}"
            if i == 0
            else f">= {edges[-1]:.4g}"
            if i == len(edges)
            else f"[{edges[i - 1]:.4g}, {edges[i]:.4g})"
            for i in range(len(edges) + 1)
        ]
        if len(edges)
        else ["all"]
    )
    return edges, base_counts, cur_counts, float(ks.statistic), float(ks.pvalue), labels


def compare_categorical(base: np.ndarray, cur: np.ndarray) -> tuple[Any, ...]:
    categories = np.unique(base)
    base_counts = np.array([np.sum(base == c) for c in categories] + [0])
    cur_counts = np.array(
        [np.sum(cur == c) for c in categories] + [int(np.sum(~np.isin(cur, categories)))]
    )
    table = np.vstack([base_counts, cur_counts])
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] > 1:
        result = stats.chi2_contingency(table)
        statistic, p_value = float(result.statistic), float(result.pvalue)
    else:  # one value on both sides: nothing to test, and nothing moved
        statistic, p_value = 0.0, 1.0
    labels = [f"{c:g}" for c in categories] + ["other"]
    return base_counts, cur_counts, statistic, p_value, labels


def _vanished(
    name: str, type_: str, *, base: np.ndarray, cur: np.ndarray, base_rows: int, cur_rows: int
) -> FeatureDrift:
    """A feature with values in one window only: drift, without a PSI to compute."""
    continuous = type_ == "Fractional"
    return FeatureDrift(
        feature=name,
        kind="continuous" if continuous else "categorical",
        psi=None,
        status="drift",
        test="ks" if continuous else "chi-square",
        statistic=None,
        p_value=None,
        bins=[],
        edges=None,
        baseline=_side(base, base_rows, np.empty(0)),
        current=_side(cur, cur_rows, np.empty(0)),
    )


def compute_drift(
    group: FeatureGroupSpec,
    baseline: pa.Table,
    current: pa.Table,
    *,
    baseline_window: str = "",
    current_window: str = "",
    thresholds: Thresholds | None = None,
) -> DriftReport:
    """Every numeric feature of ``group`` compared between the two windows' rows."""
    thresholds = thresholds or Thresholds()
    report = DriftReport(group.name, baseline_window, current_window, thresholds)
    for feature in group.features:
        if feature.type == "String" or not feature.drift_compared:
            continue
        base, base_rows = _column(baseline, feature.name)
        cur, cur_rows = _column(current, feature.name)
        if len(base) == 0 and len(cur) == 0:
            continue  # in neither window (e.g. a feature added since): nothing to compare
        if len(base) == 0 or len(cur) == 0:
            report.features.append(
                _vanished(
                    feature.name,
                    feature.type,
                    base=base,
                    cur=cur,
                    base_rows=base_rows,
                    cur_rows=cur_rows,
                )
            )
            continue
        if feature.type == "Fractional":
            edges, b_counts, c_counts, statistic, p_value, labels = compare_continuous(
                feature.name, base, cur
            )
            kind, test, edge_list = "continuous", "ks", [float(e) for e in edges]
        else:
            b_counts, c_counts, statistic, p_value, labels = compare_categorical(base, cur)
            kind, test, edge_list = "categorical", "chi-square", None
        b_shares, c_shares = _shares(b_counts), _shares(c_counts)
        value = round(psi(b_shares, c_shares), 6)
        report.features.append(
            FeatureDrift(
                feature=feature.name,
                kind=kind,  # type: ignore[arg-type]
                psi=value,
                status=thresholds.status(value),
                test=test,  # type: ignore[arg-type]
                statistic=statistic,
                p_value=p_value,
                bins=labels,
                edges=edge_list,
                baseline=_side(base, base_rows, b_shares),
                current=_side(cur, cur_rows, c_shares),
            )
        )
    return report
