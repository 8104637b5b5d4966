"""``featurestream monitor``: feature monitoring commands (drift between two windows)."""

from pathlib import Path

import click

EXIT_DRIFT = 1
"""``monitor drift`` found a feature above the drift threshold (a retraining gate)."""
EXIT_ERROR = 2


@click.group()
def command() -> None:
    """Feature monitoring: drift of the offline store's features between two windows."""


def _window(ctx: click.Context, param: click.Parameter, value: str | None) -> object:
    from monitoring.windows import WindowError, parse_window

    if value is None:
        return None
    try:
        return parse_window(value)
    except WindowError as error:
        raise click.BadParameter(str(error)) from None


@command.command()
@click.option(
    "--baseline",
    callback=_window,
    metavar="WINDOW",
    help="START/END of event times (ISO-8601, now, now-<N>d; a side may be empty); default: "
    "the history the deployed parameters and model were fitted on",
)
@click.option(
    "--current",
    callback=_window,
    default="now-30d/",
    show_default=True,
    metavar="WINDOW",
    help="START/END of event times to compare with the baseline",
)
@click.option("--group", type=click.Choice(["customers", "orders"]), help="one group (default all)")
@click.option(
    "--watch",
    "watch_at",
    type=float,
    default=0.1,
    show_default=True,
    help="PSI from which a feature is worth watching",
)
@click.option(
    "--drift",
    "drift_at",
    type=float,
    default=0.25,
    show_default=True,
    help="PSI above which a feature has drifted (exit code 1)",
)
@click.option("--stack-name", default="featurestream", show_default=True)
@click.option(
    "--offline-dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="the offline store's local folder (default: the local stack's)",
)
@click.option(
    "--report-dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="where drift-<group>.html/.json go (default: .state/reports)",
)
def drift(  # noqa: PLR0917 - click passes options positionally
    baseline: object,
    current: object,
    group: str | None,
    watch_at: float,
    drift_at: float,
    stack_name: str,
    offline_dir: Path | None,
    report_dir: Path | None,
) -> None:
    """Compare each feature's distribution between two windows of the offline store: PSI
    (bins fixed from the baseline), KS or chi-square, null rates, means and deviations.
    Writes an HTML and a JSON report; exits 1 if any feature drifted, 2 on an error."""
    from devstack.stack.process import state_root
    from monitoring.drift import Thresholds
    from monitoring.run import (
        DriftProblem,
        DriftResult,
        FixedWindows,
        groups_named,
        run_drift,
        summary_lines,
        training_window,
    )
    from monitoring.windows import Window

    try:
        thresholds = Thresholds(watch=watch_at, drift=drift_at)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--watch/--drift") from None
    root = state_root()
    if not isinstance(current, Window):  # click applies the default through the callback
        raise click.BadParameter("a window is START/END", param_hint="--current")
    results = run_drift(
        groups_named(group),
        FixedWindows(baseline if isinstance(baseline, Window) else training_window(), current),
        offline_root=offline_dir or root / "featurestore" / "offline-store",
        report_dir=report_dir or root / "reports",
        stack_name=stack_name,
        thresholds=thresholds,
    )
    for line in summary_lines(results):
        click.echo(line)
    if any(isinstance(result, DriftProblem) for result in results):
        raise SystemExit(EXIT_ERROR)
    if any(isinstance(r, DriftResult) and r.report.status == "drift" for r in results):
        raise SystemExit(EXIT_DRIFT)
