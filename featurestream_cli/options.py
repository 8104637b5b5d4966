"""Option parsing and defaults shared by several subcommands."""

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, Final

import click

from featurestream.contract.timeutil import parse_timestamp

RAW_DIR: Final = Path("raw")
DEFAULT_CUSTOMERS: Final = RAW_DIR / "customers.csv"
DEFAULT_ORDERS: Final = RAW_DIR / "orders.csv"


def timestamp_option(
    ctx: click.Context, param: click.Parameter, value: str | None
) -> datetime | None:
    """Click callback: an ISO-8601 time such as ``2022-01-01T12:00:00Z``; zone-less is UTC."""
    if value is None:
        return None
    try:
        return parse_timestamp(value)
    except ValueError as error:
        raise click.BadParameter(str(error), ctx=ctx, param=param) from error


def export_options(function: Callable[..., Any]) -> Callable[..., Any]:
    """``--customers`` and ``--orders``: the two CSV exports a command reads."""
    function = click.option(
        "--orders",
        type=click.Path(path_type=Path, dir_okay=False),
        default=DEFAULT_ORDERS,
        show_default=True,
        help="orders CSV export",
    )(function)
    return click.option(
        "--customers",
        type=click.Path(path_type=Path, dir_okay=False),
        default=DEFAULT_CUSTOMERS,
        show_default=True,
        help="customers CSV export",
    )(function)
