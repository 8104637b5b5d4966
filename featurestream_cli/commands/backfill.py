"""``featurestream backfill``: the historical exports straight into the Feature Store."""

from datetime import datetime
from pathlib import Path
from typing import Final

import click

from featurestream_cli.commands.replay import (
    BadInputFile,
    bad_row_reporter,
    echo_lines,
    on_error_option,
)
from featurestream_cli.options import export_options, timestamp_option

EXIT_CODES_HELP: Final = """\b
Exit codes:
  0    every entry was written (bad rows skipped are reported)
  1    some entries failed (saved to --failed-file), or the Feature Store
       refused the writes or could not be reached, or a feature group is
       missing or does not match the catalog, or the checkpoint is unusable
  2    usage error: bad option, unreadable input file, missing column,
       an output file (--failed-file, --checkpoint) that cannot be written
  3    bad input with --on-error fail (nothing was written)
  130  interrupted (Ctrl-C): the checkpoint is at the last finished chunk

\b
Endpoints, region and credentials come from botocore's configuration
(AWS_ENDPOINT_URL_SAGEMAKER_FEATURESTORE_RUNTIME, AWS_ENDPOINT_URL_SAGEMAKER,
AWS_ENDPOINT_URL, profile): the same command runs against the local stack and AWS.
"""


@click.command(epilog=EXIT_CODES_HELP)
@export_options
@click.option(
    "--group",
    type=click.Choice(["customers", "orders"]),
    help="backfill one feature group only (reads only its export)",
)
@click.option(
    "--customers-group",
    envvar="CUSTOMERS_FEATURE_GROUP_NAME",
    default="featurestream-customers",
    show_default=True,
    show_envvar=True,
    help="deployed name of the customers feature group",
)
@click.option(
    "--orders-group",
    envvar="ORDERS_FEATURE_GROUP_NAME",
    default="featurestream-orders",
    show_default=True,
    show_envvar=True,
    help="deployed name of the orders feature group",
)
@click.option("--since", callback=timestamp_option, metavar="TIME", help="first event time (incl.)")
@click.option("--until", callback=timestamp_option, metavar="TIME", help="last event time (excl.)")
@click.option(
    "--workers",
    type=click.IntRange(min=1, max=64),
    default=8,
    show_default=True,
    help="BatchWriteRecord calls in flight at once (size to the account's throughput)",
)
@click.option(
    "--offline-only-history",
    is_flag=True,
    help="send every event but each record's newest to the offline store only "
    '(TargetStores=["OfflineStore"]): one online write per record',
)
@on_error_option
@click.option(
    "--checkpoint",
    type=click.Path(path_type=Path, dir_okay=False),
    help="record progress here; a rerun continues after the last finished chunk",
)
@click.option(
    "--failed-file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=Path("backfill-failed.jsonl"),
    show_default=True,
    help="entries still failing after the retries are kept here",
)
@click.option(
    "--retry-failed",
    is_flag=True,
    help="send the entries in --failed-file again (instead of reading the exports); "
    "what still fails stays in the file",
)
@click.option(
    "--attempts",
    type=click.IntRange(min=1, max=20),
    default=6,
    show_default=True,
    help="BatchWriteRecord rounds per entry before it goes to --failed-file",
)
@click.option(
    "--chunk-entries",
    type=click.IntRange(min=25),
    default=5000,
    show_default=True,
    help="entries between checkpoints (a killed run resends at most one chunk)",
)
@click.pass_context
def command(
    ctx: click.Context,
    *,
    customers: Path,
    orders: Path,
    group: str | None,
    customers_group: str,
    orders_group: str,
    since: datetime | None,
    until: datetime | None,
    workers: int,
    offline_only_history: bool,
    on_error: str,
    checkpoint: Path | None,
    failed_file: Path,
    retry_failed: bool,
    attempts: int,
    chunk_entries: int,
) -> None:
    """Load the customers and orders exports straight into the Feature Store.

    Every event becomes its feature group's record through the same transforms and as-of
    rule as the stream functions. Each record's newest event is written to both stores; the
    older ones too (to both stores, or with --offline-only-history to the offline store
    only), so the online store ends as a replay leaves it and the offline store holds one
    row per event. Entries go out 25 per BatchWriteRecord call on --workers threads;
    unprocessed entries and throttling are retried with backoff. Progress and the summary
    go to stderr. See docs/backfill.md.
    """
    from botocore.exceptions import BotoCoreError

    from producers.backfill import BackfillOptions, run_backfill
    from producers.backfill.groups import GroupError
    from producers.checkpoint import CheckpointError
    from producers.exit_codes import EXIT_INTERRUPTED
    from producers.files import OutputError, check_writable
    from producers.progress import progress_for
    from producers.sources import SourceFileError

    if retry_failed and checkpoint is not None:
        raise click.UsageError("--retry-failed sends a failures file: it takes no --checkpoint")
    if retry_failed and not failed_file.is_file():
        raise click.BadParameter(f"{failed_file}: no such file", param_hint="--failed-file")
    for hint, path in {"--checkpoint": checkpoint, "--failed-file": failed_file}.items():
        try:
            if path is not None:
                check_writable(path)
        except OutputError as error:
            raise click.BadParameter(str(error), param_hint=hint) from error
    try:
        options = BackfillOptions(
            customers=customers,
            orders=orders,
            group=group,  # type: ignore[arg-type]  # click.Choice guarantees the literal
            group_names={"customers": customers_group, "orders": orders_group},
            since=since,
            until=until,
            workers=workers,
            offline_only_history=offline_only_history,
            on_error=on_error,
            checkpoint=checkpoint,
            failed_file=failed_file,
            retry_failed=retry_failed,
            attempts=attempts,
            chunk_entries=chunk_entries,
        )
    except ValueError as error:
        raise click.UsageError(str(error)) from error
    report_bad_row = bad_row_reporter()
    try:
        summary = run_backfill(
            options,
            progress=lambda total: progress_for("backfill", total),
            on_bad_row=report_bad_row,
        )
    except SourceFileError as error:
        raise BadInputFile(str(error)) from error
    except (CheckpointError, GroupError) as error:
        raise click.ClickException(str(error)) from error
    except OutputError as error:
        raise click.ClickException(str(error)) from error
    except BotoCoreError as error:  # no region or credentials configured, before any call
        raise click.ClickException(f"cannot make the AWS clients: {error}") from error
    except KeyboardInterrupt:
        click.echo("interrupted before anything was written", err=True)
        ctx.exit(EXIT_INTERRUPTED)
    echo_lines(summary.lines())
    ctx.exit(summary.exit_code)
