"""``featurestream transform``: the tutorial's batch step, writing the ML-ready CSV."""

import csv
import io
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import click

from featurestream_cli.options import timestamp_option

if TYPE_CHECKING:
    from featurestream.contract.events import CustomerEvent, OrderEvent
    from featurestream.contract.params import MinMax


def _read_with_fitter(
    kind: str, path: Path
) -> "tuple[Sequence[CustomerEvent | OrderEvent], Callable[[datetime], dict[str, MinMax]]]":
    """The file's events and a function fitting the scalers its feature group needs."""
    from training.fit import fit_customer_scalers, fit_order_scalers
    from training.history import read_customers, read_orders

    if kind == "customers":
        customers = read_customers(path)
        return customers, lambda as_of: fit_customer_scalers(customers, as_of)
    orders = read_orders(path)
    return orders, lambda as_of: fit_order_scalers(orders, as_of)


@click.command()
@click.argument("kind", type=click.Choice(["customers", "orders"]))
@click.argument("input_path", metavar="INPUT", type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    required=True,
    help="ML-ready CSV to write (replaced whole, only once complete)",
)
@click.option(
    "--params",
    "params_path",
    type=click.Path(path_type=Path),
    default=None,
    help="apply this params artifact [default: fit on INPUT, as the tutorial does]",
)
@click.option(
    "--as-of",
    callback=timestamp_option,
    metavar="TIME",
    default=None,
    help="reference time for day counts [default: the params' fit time with "
    "--params, else the newest event in INPUT]",
)
def command(
    kind: Literal["customers", "orders"],
    input_path: Path,
    output: Path,
    params_path: Path | None,
    as_of: datetime | None,
) -> None:
    """Transform a customers or orders CSV export into its feature-group columns.

    The columns are the feature group's (the tutorial's transformed features plus the raw
    timestamps and transform_version), computed by the same functions the stream Lambdas use.
    """
    from featurestream.contract.catalog import CUSTOMERS, ORDERS
    from featurestream.contract.params import load_params
    from featurestream.contract.transforms import features_for, value_as_string
    from producers.files import OutputError, check_writable, write_replacing
    from producers.sources import SourceFileError
    from training.fit import build_params
    from training.history import HistoryError

    try:
        check_writable(output)
    except OutputError as error:
        raise click.BadParameter(str(error), param_hint="--output") from error
    try:
        events, fit_scalers = _read_with_fitter(kind, input_path)
    except (HistoryError, SourceFileError) as error:
        raise click.ClickException(str(error)) from error
    try:
        params = load_params(params_path) if params_path else None
    except OSError as error:
        raise click.ClickException(f"{params_path}: cannot open ({error.strerror})") from error
    except UnicodeDecodeError as error:
        raise click.ClickException(f"{params_path}: not valid UTF-8") from error
    except ValueError as error:  # the message names the file and what is wrong
        raise click.ClickException(str(error)) from error
    if not events:
        raise click.ClickException(f"{input_path}: no rows to transform")
    reference = as_of or (params.fitted_as_of if params else max(e.event_time for e in events))
    if params is None:
        params = build_params(
            fit_scalers(reference),
            as_of=reference,
            fitted_on={kind: {"file": input_path.name, "rows": len(events)}},
        )
    group = CUSTOMERS if kind == "customers" else ORDERS
    text = io.StringIO(newline="")
    writer = csv.writer(text)
    writer.writerow(group.feature_names)
    for event in events:
        _, features = features_for(event, params=params, as_of=reference)
        writer.writerow(value_as_string(value) for value in features.values())
    try:
        write_replacing(output, text.getvalue())
    except OutputError as error:
        raise click.ClickException(str(error)) from error
    click.echo(
        f"wrote {len(events)} {kind} rows to {output} "
        f"(params {params.version}, as of {reference.isoformat()})",
        err=True,
    )
