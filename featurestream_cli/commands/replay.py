"""``featurestream replay``: the historical CSV exports → the Kinesis streams, in event time."""

import os
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, Final

import click

from featurestream_cli.options import export_options, timestamp_option

MAX_BAD_ROWS_SHOWN: Final = 20

EXIT_CODES_HELP: Final = """\b
Exit codes:
  0    every selected event was sent (bad rows skipped are reported)
  1    some events failed (written to --failed-file) or a stream, endpoint,
       credentials or checkpoint error stopped the run
  2    usage error: bad option, unreadable input file, missing column,
       an output file (--failed-file, --checkpoint) that cannot be written
  3    bad input with --on-error fail (replay: nothing was sent)
  130  interrupted (Ctrl-C): buffered events flushed, checkpoint saved

\b
The Kinesis endpoint comes from boto3's configuration (AWS_ENDPOINT_URL_KINESIS,
AWS_ENDPOINT_URL, profile); region and credentials likewise.
"""


class BadInputFile(click.ClickException):
    """An input file that cannot be read: a usage error (exit 2), shown without traceback."""

    exit_code = 2


def stream_options(function: Callable[..., Any]) -> Callable[..., Any]:
    """``--customer-stream`` / ``--order-stream`` (env, then default), shared with publish."""
    function = click.option(
        "--order-stream",
        envvar="FEATURESTREAM_ORDER_STREAM",
        default="featurestream-order-events",
        show_default=True,
        show_envvar=True,
        help="stream for order events",
    )(function)
    return click.option(
        "--customer-stream",
        envvar="FEATURESTREAM_CUSTOMER_STREAM",
        default="featurestream-customer-events",
        show_default=True,
        show_envvar=True,
        help="stream for customer events",
    )(function)


def on_error_option(function: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--on-error",
        type=click.Choice(["skip", "fail"]),
        default="skip",
        show_default=True,
        help="bad input: skip and report it, or stop",
    )(function)


def echo_lines(lines: list[str]) -> None:
    for line in lines:
        click.echo(line, err=True)


def bad_row_reporter() -> Callable[[object], None]:
    """An ``on_bad_row`` callback: the first ``MAX_BAD_ROWS_SHOWN`` bad rows on stderr (each
    names file, line and field), then one line saying the rest are only counted."""
    shown = 0

    def report(row: object) -> None:
        nonlocal shown
        shown += 1
        if shown <= MAX_BAD_ROWS_SHOWN:
            click.echo(f"bad row: {row}", err=True)
        elif shown == MAX_BAD_ROWS_SHOWN + 1:
            click.echo("bad row: ... (further bad rows are only counted)", err=True)

    return report


@click.command(epilog=EXIT_CODES_HELP)
@export_options
@stream_options
@click.option("--only", type=click.Choice(["customers", "orders"]), help="replay one file only")
@click.option("--since", callback=timestamp_option, metavar="TIME", help="first event time (incl.)")
@click.option("--until", callback=timestamp_option, metavar="TIME", help="last event time (excl.)")
@click.option("--limit", type=click.IntRange(min=0), help="send at most N events of the timeline")
@click.option(
    "--speedup",
    type=click.FloatRange(min=0, min_open=True),
    help="replay the timeline N times faster than it happened",
)
@click.option(
    "--rate", type=click.FloatRange(min=0, min_open=True), help="at most R events per second"
)
@click.option(
    "--as-live",
    is_flag=True,
    help="shift every event time by one constant so the newest event is dated now "
    "(event ids unchanged; tenure and recency keep their meaning)",
)
@click.option("--dry-run", is_flag=True, help="write the events as JSON lines to stdout; send none")
@on_error_option
@click.option(
    "--checkpoint",
    type=click.Path(path_type=Path, dir_okay=False),
    help="record progress here; a rerun continues where it stopped",
)
@click.option(
    "--failed-file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=Path("failed-events.jsonl"),
    show_default=True,
    help="events that could not be sent are appended here (re-publish with `publish`)",
)
@click.pass_context
def command(
    ctx: click.Context,
    *,
    customers: Path,
    orders: Path,
    customer_stream: str,
    order_stream: str,
    only: str | None,
    since: datetime | None,
    until: datetime | None,
    limit: int | None,
    speedup: float | None,
    rate: float | None,
    as_live: bool,
    dry_run: bool,
    on_error: str,
    checkpoint: Path | None,
    failed_file: Path,
) -> None:
    """Replay the customers and orders CSV exports into the Kinesis streams.

    Rows become customer.registered / order.placed events (deterministic event ids), sent
    in event-time order across both files, customers to the customer stream and orders to
    the order stream, as fast as the streams accept unless --speedup or --rate pace them.
    Progress and the summary go to stderr; stdout carries only --dry-run output.
    """
    from producers.checkpoint import CheckpointError
    from producers.exit_codes import EXIT_INTERRUPTED
    from producers.files import OutputError, check_writable
    from producers.progress import progress_for
    from producers.replay import ReplayOptions, run_replay
    from producers.sources import SourceFileError
    from producers.streams import StreamNames

    outputs = {"--checkpoint": checkpoint, "--failed-file": None if dry_run else failed_file}
    for hint, path in outputs.items():
        try:
            if path is not None:
                check_writable(path)
        except OutputError as error:
            raise click.BadParameter(str(error), param_hint=hint) from error
    try:
        options = ReplayOptions(
            customers=customers,
            orders=orders,
            only=only,  # type: ignore[arg-type]  # click.Choice guarantees the literal
            streams=StreamNames(customer=customer_stream, order=order_stream),
            since=since,
            until=until,
            limit=limit,
            speedup=speedup,
            rate=rate,
            as_live=as_live,
            dry_run=dry_run,
            on_error=on_error,  # type: ignore[arg-type]
            checkpoint=checkpoint,
            failed_file=failed_file,
        )
    except ValueError as error:
        raise click.UsageError(str(error)) from error
    report_bad_row = bad_row_reporter()
    click.echo(f"reading {', '.join(str(path) for _, path in options.sources())} ...", err=True)
    try:
        summary = run_replay(
            options,
            dry_run_out=sys.stdout.buffer,
            progress=lambda total: progress_for("replay", total),
            on_bad_row=report_bad_row,
        )
    except SourceFileError as error:
        raise BadInputFile(str(error)) from error
    except CheckpointError as error:
        raise click.ClickException(str(error)) from error
    except KeyboardInterrupt:  # while hashing inputs for the checkpoint: nothing sent
        click.echo("interrupted before anything was sent", err=True)
        ctx.exit(EXIT_INTERRUPTED)
    if summary.output_closed:  # stdout's reader left; keep Python's exit flush quiet
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    echo_lines(summary.lines())
    ctx.exit(summary.exit_code)
