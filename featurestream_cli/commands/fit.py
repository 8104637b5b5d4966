"""``featurestream fit``: fit the scalers on the history and write the params artifact."""

import hashlib
from datetime import datetime
from pathlib import Path

import click

from featurestream.contract.params import DEFAULT_PARAMS_PATH
from featurestream_cli.options import DEFAULT_CUSTOMERS, DEFAULT_ORDERS, timestamp_option


def describe_input(path: Path, rows: int) -> dict[str, object]:
    """What the artifact records about an input file: name, row count, content hash."""
    return {
        "file": path.name,
        "rows": rows,
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
    }


@click.command()
@click.option(
    "--customers",
    type=click.Path(path_type=Path),
    default=DEFAULT_CUSTOMERS,
    show_default=True,
    help="customers CSV export",
)
@click.option(
    "--orders",
    type=click.Path(path_type=Path),
    default=DEFAULT_ORDERS,
    show_default=True,
    help="orders CSV export",
)
@click.option(
    "--as-of",
    callback=timestamp_option,
    metavar="TIME",
    default=None,
    help="reference time for day counts [default: the newest event in the history]",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    default=DEFAULT_PARAMS_PATH,
    show_default=True,
    help="where to write the artifact (replaced whole, only once complete)",
)
def command(customers: Path, orders: Path, as_of: datetime | None, output: Path) -> None:
    """Fit the MinMax scalers on the CSVs with scikit-learn and write the params artifact.

    Day counts (tenure, recency) are taken as of --as-of; the artifact records it and a
    content-hash version that every record written with it carries.
    """
    from producers.files import OutputError, check_writable, write_replacing
    from producers.sources import SourceFileError
    from training.fit import fit_params
    from training.history import HistoryError, read_history

    try:
        check_writable(output)
    except OutputError as error:
        raise click.BadParameter(str(error), param_hint="--output") from error
    try:
        history = read_history(customers, orders)
    except (HistoryError, SourceFileError) as error:
        raise click.ClickException(str(error)) from error
    for path, events in ((customers, history.customers), (orders, history.orders)):
        if not events:
            raise click.ClickException(f"{path}: no rows to fit on")
    reference = as_of or history.end
    params = fit_params(
        history,
        as_of=reference,
        fitted_on={
            "customers": describe_input(customers, len(history.customers)),
            "orders": describe_input(orders, len(history.orders)),
        },
    )
    try:
        write_replacing(output, params.to_json())
    except OutputError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"wrote {output} (version {params.version}, as of {reference.isoformat()})")
    for name, scaler in sorted(params.scalers.items()):
        click.echo(f"  {name:<28} min {scaler.data_min:<12g} max {scaler.data_max:g}")
