"""The drift report: one self-contained HTML page (inline SVG, inline CSS, no script, nothing
fetched) with a chart per feature and a summary table, plus the same figures as JSON."""

from __future__ import annotations

import json
import os
from html import escape
from pathlib import Path

from monitoring.drift import DriftReport, FeatureDrift

_COLORS = {"baseline": "#4a78b5", "current": "#e0823d"}
_STATUS_COLORS = {"stable": "#2e7d32", "watch": "#b28704", "drift": "#c62828"}
_W, _H, _PAD = 520, 200, 30

_CSS = """
body{font-family:system-ui,sans-serif;margin:24px;color:#222}
table{border-collapse:collapse;margin:12px 0}
th,td{border:1px solid #ccc;padding:4px 8px;text-align:right}
th:first-child,td:first-child{text-align:left}
.status{font-weight:bold;color:#fff;padding:1px 6px;border-radius:3px}
.charts{display:flex;flex-wrap:wrap;gap:16px}
figure{margin:0;border:1px solid #ddd;padding:8px}
figcaption{font-size:14px;margin-bottom:4px}
"""


def _fmt(value: float | None, digits: int = 4) -> str:
    return "n/a" if value is None else f"{value:.{digits}g}"


def _badge(status: str) -> str:
    return f'<span class="status" style="background:{_STATUS_COLORS[status]}">{status}</span>'


def chart(feature: FeatureDrift, threshold: float) -> str:
    """Grouped bars per bin: baseline and current shares, PSI marked in the chart."""
    bins = feature.bins or ["(no values)"]
    count = len(bins)
    peak = max([*feature.baseline.shares, *feature.current.shares, 0.01])
    slot = (_W - 2 * _PAD) / count
    bar = max(1.0, slot * 0.38)
    parts = [
        f'<svg class="chart" data-feature="{escape(feature.feature)}" width="{_W}" '
        f'height="{_H + 60}" viewBox="0 0 {_W} {_H + 60}" role="img" '
        f'aria-label="{escape(feature.feature)} histogram">',
        f'<line x1="{_PAD}" y1="{_H}" x2="{_W - _PAD}" y2="{_H}" stroke="#888"/>',
    ]
    for index, label in enumerate(bins):
        x = _PAD + index * slot + slot * 0.1
        for offset, (side, shares) in enumerate(
            (("baseline", feature.baseline.shares), ("current", feature.current.shares))
        ):
            share = shares[index] if index < len(shares) else 0.0
            height = (_H - _PAD) * share / peak
            parts.append(
                f'<rect class="bar {side}" x="{x + offset * bar:.1f}" y="{_H - height:.1f}" '
                f'width="{bar:.1f}" height="{height:.1f}" fill="{_COLORS[side]}">'
                f"<title>{side} {escape(label)}: {share:.1%}</title></rect>"
            )
        if count <= 12:
            cx = x + bar
            parts.append(
                f'<text x="{cx:.1f}" y="{_H + 10}" font-size="8" text-anchor="end" '
                f'transform="rotate(-30 {cx:.1f} {_H + 10})">{escape(label)}</text>'
            )
    psi_text = (
        "PSI n/a (values in one window only)"
        if feature.psi is None
        else (f"PSI {feature.psi:.3f} (drift above {threshold:g})")
    )
    parts.append(
        f'<text class="psi" x="{_W - _PAD}" y="16" font-size="13" text-anchor="end" '
        f'fill="{_STATUS_COLORS[feature.status]}">{escape(psi_text)}</text>'
    )
    parts.append(
        f'<text x="{_PAD}" y="16" font-size="11"><tspan fill="{_COLORS["baseline"]}">■ baseline'
        f'</tspan> <tspan fill="{_COLORS["current"]}">■ current</tspan></text>'
    )
    parts.append("</svg>")
    return "".join(parts)


def render_html(report: DriftReport) -> str:
    """The whole page as one string."""
    rows = []
    for f in report.features:
        rows.append(
            "<tr>"
            f"<td>{escape(f.feature)}</td><td>{f.kind}</td>"
            f"<td>{'n/a' if f.psi is None else f'{f.psi:.3f}'}</td>"
            f"<td>{_badge(f.status)}</td><td>{f.test}</td><td>{_fmt(f.statistic)}</td>"
            f"<td>{_fmt(f.p_value, 3)}</td>"
            f"<td>{f.baseline.null_rate:.2%}</td><td>{f.current.null_rate:.2%}</td>"
            f"<td>{_fmt(f.baseline.mean)}</td><td>{_fmt(f.current.mean)}</td>"
            f"<td>{_fmt(f.baseline.std)}</td><td>{_fmt(f.current.std)}</td>"
            "</tr>"
        )
    figures = [
        f"<figure><figcaption>{escape(f.feature)} {_badge(f.status)}</figcaption>"
        f"{chart(f, report.thresholds.drift)}</figure>"
        for f in report.features
    ]
    t = report.thresholds
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>Drift report: {escape(report.group)}</title><style>{_CSS}</style></head><body>"
        f"<h1>Drift report: {escape(report.group)} {_badge(report.status)}</h1>"
        f"<p>Baseline window <code>{escape(report.baseline_window)}</code>, current window "
        f"<code>{escape(report.current_window)}</code>. PSI &lt; {t.watch:g} stable, "
        f"{t.watch:g} to {t.drift:g} watch, &gt; {t.drift:g} drift; bins fixed from the "
        "baseline. KS for continuous features, chi-square for categorical ones.</p>"
        '<table id="summary"><thead><tr><th>feature</th><th>kind</th><th>PSI</th>'
        "<th>status</th><th>test</th><th>statistic</th><th>p-value</th>"
        "<th>null % base</th><th>null % current</th><th>mean base</th><th>mean current</th>"
        "<th>std base</th><th>std current</th></tr></thead><tbody>"
        + "".join(rows)
        + '</tbody></table><div class="charts">'
        + "".join(figures)
        + "</div></body></html>"
    )


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_report(report: DriftReport, folder: Path) -> tuple[Path, Path]:
    """``<folder>/drift-<group>.html`` and ``.json``; returns both paths."""
    html_path = folder / f"drift-{report.group}.html"
    json_path = folder / f"drift-{report.group}.json"
    _write_atomic(html_path, render_html(report))
    _write_atomic(json_path, json.dumps(report.to_json(), indent=1, allow_nan=False) + "\n")
    return html_path, json_path
