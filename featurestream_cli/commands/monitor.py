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
    "the training set's window, from the first to the last label time in --manifest",
)
@click.option(
    "--manifest",
    type=click.Path(path_type=Path, dir_okay=False),
    default=Path("model") / "feature_list.json",
    show_default=True,
    help="the model's manifest (written by `featurestream train`), for the default baseline",
)
@click.option(
    "--current",
    callback=_window,
    default="now-30d/",
    show_default=True,
    metavar="WINDOW",
    help="START/END of event times to compare with the baseline",
)
@click.option(
    "--group",
    type=click.Choice(["customers", "orders", "customer-order-stats"]),
    help="one group (default all)",
)
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
@click.option(
    "--stack-name",
    default="featurestream",
    show_default=True,
    help="the feature groups are <stack-name>-<group>",
)
@click.option(
    "--workgroup",
    envvar="FEATURESTREAM_ATHENA_WORKGROUP",
    default="featurestream-offline",
    show_default=True,
    help="Athena workgroup (the template's sets the results location) "
    "[env: FEATURESTREAM_ATHENA_WORKGROUP]",
)
@click.option(
    "--output-location",
    default=None,
    help="s3:// prefix for results, for a workgroup that does not set one",
)
@click.option(
    "--report-dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="where drift-<group>.html/.json go (default: .state/reports)",
)
def drift(  # noqa: PLR0917 - click passes options positionally
    baseline: object,
    manifest: Path,
    current: object,
    group: str | None,
    watch_at: float,
    drift_at: float,
    stack_name: str,
    workgroup: str,
    output_location: str | None,
    report_dir: Path | None,
) -> None:
    """Compare each feature's distribution between two windows of the offline store: PSI
    (bins fixed from the baseline), KS or chi-square, null rates, means and deviations.
    Reads through Athena's API (the local stack's, after `eval $(featurestream local env)`,
    or AWS's). Writes an HTML and a JSON report; exits 1 if any feature drifted, 2 on an
    error."""
    from devstack.stack.process import state_root
    from monitoring.drift import Thresholds
    from monitoring.offline_window import OfflineReader, OfflineReadError
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
    try:
        base = baseline if isinstance(baseline, Window) else training_window(manifest)
    except OfflineReadError as error:
        click.echo(f"Error: {error}", err=True)
        raise SystemExit(EXIT_ERROR) from None
    results = run_drift(
        groups_named(group),
        FixedWindows(base, current),
        reader=OfflineReader.connect(workgroup, output_location),
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
