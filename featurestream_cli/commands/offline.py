"""``featurestream offline``: the offline store through Athena's API (local stack or AWS)."""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from featurestream_cli.options import timestamp_option

if TYPE_CHECKING:
    from featurestream.offline.athena import QueryResult
    from featurestream.offline.tables import OfflineTable

FC = TypeVar("FC", bound=Callable[..., Any])
DEFAULT_WORKGROUP = "featurestream-offline"
STATS_SHORT_NAME = "customer_order_stats"


def _common(func: FC) -> FC:
    options = [
        click.option(
            "--customers-group",
            envvar="CUSTOMERS_FEATURE_GROUP_NAME",
            default="featurestream-customers",
            show_default=True,
            help="customers feature group, {customers} in SQL [env: CUSTOMERS_FEATURE_GROUP_NAME]",
        ),
        click.option(
            "--orders-group",
            envvar="ORDERS_FEATURE_GROUP_NAME",
            default="featurestream-orders",
            show_default=True,
            help="orders feature group, {orders} in SQL [env: ORDERS_FEATURE_GROUP_NAME]",
        ),
        click.option(
            "--stats-group",
            envvar="STATS_FEATURE_GROUP_NAME",
            default="featurestream-customer-order-stats",
            show_default=True,
            help="customer-order-stats feature group, {customer_order_stats} in SQL "
            "[env: STATS_FEATURE_GROUP_NAME]",
        ),
        click.option(
            "--workgroup",
            envvar="FEATURESTREAM_ATHENA_WORKGROUP",
            default=DEFAULT_WORKGROUP,
            show_default=True,
            help="Athena workgroup (the template's enforces the results location) "
            "[env: FEATURESTREAM_ATHENA_WORKGROUP]",
        ),
        click.option(
            "--output-location",
            default=None,
            help="s3:// prefix for results, for a workgroup that does not set one",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


class OfflineSession:
    """The clients and the groups' tables, each looked up once per command: customers and
    orders at once, customer-order-stats when a query or view names it."""

    def __init__(
        self,
        customers: str,
        orders: str,
        workgroup: str,
        output: str | None,
        stats: str | None = None,
    ) -> None:
        from featurestream.aws.clients import client_config, create_client
        from featurestream.offline.athena import athena_client, s3_client

        self.workgroup, self.output = workgroup, output
        self.athena = athena_client()
        self.s3 = s3_client()  # results are read from their CSV in one GET
        self._sagemaker = create_client("sagemaker", client_config(max_attempts=3, validate=True))
        self.groups = {"customers": customers, "orders": orders}
        if stats:
            self.groups[STATS_SHORT_NAME] = stats
        self.tables: dict[str, OfflineTable] = {}
        for short in ("customers", "orders"):
            self.table(short)

    def table(self, short: str) -> OfflineTable:
        """The table of the group a short name stands for (described on first use)."""
        from featurestream.offline.tables import describe_table

        if short not in self.tables:
            self.tables[short] = describe_table(self._sagemaker, self.groups[short])
        return self.tables[short]

    def run(self, sql: str) -> QueryResult:
        from featurestream.offline.athena import run_query
        from featurestream.offline.tables import SHORT_NAME_RE, OfflineTableError, expand

        named = set(SHORT_NAME_RE.findall(sql))
        if unknown := sorted(named - set(self.groups)):
            known = ", ".join("{" + k + "}" for k in self.groups)
            raise OfflineTableError(f"unknown table short name {{{unknown[0]}}}; known: {known}")
        for short in named:
            self.table(short)
        return run_query(
            expand(sql, self.tables),
            database=self.tables["customers"].database,
            workgroup=self.workgroup,
            output_location=self.output,
            client=self.athena,
            s3=self.s3,
        )


def guarded(action: Callable[[], None]) -> None:
    """Run ``action``; Athena's, the catalog's and the network's errors become one line."""
    from botocore.exceptions import BotoCoreError, ClientError

    from featurestream.offline.athena import QueryFailed
    from featurestream.offline.tables import OfflineTableError

    try:
        action()
    except QueryFailed as error:
        raise click.ClickException(
            f"the query {error.state.lower()} (Athena query id {error.query_id}): {error.reason}"
        ) from None
    except OfflineTableError as error:
        raise click.ClickException(str(error)) from None
    except ClientError as error:
        err = error.response.get("Error", {})
        raise click.ClickException(
            f"{error.operation_name} failed: {err.get('Code')}: {err.get('Message')}"
        ) from None
    except BotoCoreError as error:
        raise click.ClickException(
            f"cannot reach Athena or SageMaker: {error} (is the local stack up? "
            "`eval $(featurestream local env)`)"
        ) from None


@click.group(name="offline")
def command() -> None:
    """Query the offline store with Athena SQL (the local stack's Athena, or AWS's)."""


@command.command()
@click.argument("sql", required=False)
@click.option(
    "--file",
    "sql_file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="read the SQL from this file instead",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "csv", "parquet"]),
    default="table",
    show_default=True,
    help="table on the terminal, CSV (stdout or -o) or Parquet (-o required)",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="write here",
)
@click.option(
    "--max-rows", type=click.IntRange(1), default=50, show_default=True, help="rows a table shows"
)
@_common
def query(  # noqa: PLR0917 - one parameter per option
    sql: str | None,
    sql_file: Path | None,
    fmt: str,
    output: Path | None,
    max_rows: int,
    customers_group: str,
    orders_group: str,
    stats_group: str,
    workgroup: str,
    output_location: str | None,
) -> None:
    """Run Athena SQL; ``{customers}``, ``{orders}`` and ``{customer_order_stats}`` name the
    groups' tables.

    Example: featurestream offline query 'SELECT count(*) FROM {orders}'
    """
    text = _sql_text(sql, sql_file)
    if fmt == "parquet" and output is None:
        raise click.UsageError("--format parquet needs -o/--output")

    def run() -> None:
        session = OfflineSession(
            customers_group, orders_group, workgroup, output_location, stats_group
        )
        result = session.run(text)
        _emit(result, fmt, output, max_rows)

    guarded(run)


@command.command()
@_common
def tables(
    customers_group: str,
    orders_group: str,
    stats_group: str,
    workgroup: str,
    output_location: str | None,
) -> None:
    """Each group's table: location, columns, row count and newest event."""

    from featurestream.offline import views

    def run() -> None:
        session = OfflineSession(
            customers_group, orders_group, workgroup, output_location, stats_group
        )
        for short in session.groups:
            table = session.table(short)
            newest = views.quoted(table.event_time)
            stats = session.run(
                f"SELECT count(*) AS row_count, max({newest}) AS newest_event FROM {{{short}}}"  # noqa: S608  # nosec B608  # names from DescribeFeatureGroup, quoted
            )
            count, newest = stats.rows[0]
            click.echo(f"{{{short}}}  {table.database}.{table.table}")
            click.echo(f"  group     {table.group}")
            click.echo(f"  location  {table.location}")
            added = "write_time, api_invocation_time, is_deleted"
            click.echo(f"  columns   {', '.join(table.features)}, {added}")
            click.echo("  partitions year, month, day, hour (event time, UTC)")
            click.echo(f"  rows      {count}")
            click.echo(f"  newest    {newest or '-'}")

    guarded(run)


@command.command()
@click.argument("name", type=click.Choice(["latest", "known-at", "dedup"]))
@click.argument("group", type=click.Choice(["customers", "orders", "customer-order-stats"]))
@click.option(
    "--as-of", callback=timestamp_option, default=None, help="latest: event time cutoff (ISO-8601)"
)
@click.option(
    "--known-at",
    callback=timestamp_option,
    default=None,
    help="known-at: write-time cutoff (ISO-8601)",
)
@click.option("--sql", "show_sql", is_flag=True, help="print the view's SQL instead of running it")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "parquet"]), default="table")
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), default=None)
@click.option("--max-rows", type=click.IntRange(1), default=50, show_default=True)
@_common
def view(  # noqa: PLR0917 - one parameter per option
    name: str,
    group: str,
    as_of: datetime | None,
    known_at: datetime | None,
    show_sql: bool,
    fmt: str,
    output: Path | None,
    max_rows: int,
    customers_group: str,
    orders_group: str,
    stats_group: str,
    workgroup: str,
    output_location: str | None,
) -> None:
    """A built-in view of a group's table (docs/offline.md):

    \b
    latest    each record's newest row at or before --as-of, deleted ones left out
    known-at  the same, counting only rows written by --known-at (what serving saw)
    dedup     redelivered copies removed
    """
    from featurestream.offline import views

    if name == "known-at" and known_at is None:
        raise click.UsageError("known-at needs --known-at TIME")
    if fmt == "parquet" and output is None:
        raise click.UsageError("--format parquet needs -o/--output")

    def run() -> None:
        session = OfflineSession(
            customers_group, orders_group, workgroup, output_location, stats_group
        )
        table = session.table(group.replace("-", "_"))
        if name == "latest":
            sql = views.latest_as_of(table, as_of)
        elif name == "known-at":
            sql = views.as_known_at(table, known_at or datetime.now(UTC))
        else:
            sql = views.deduplicated(table)
        if show_sql:
            click.echo(sql)
            return
        _emit(session.run(sql), fmt, output, max_rows)

    guarded(run)


def _sql_text(sql: str | None, sql_file: Path | None) -> str:
    if (sql is None) == (sql_file is None):
        raise click.UsageError("give the SQL as an argument or with --file, not both")
    if sql_file is None:
        return str(sql)
    try:
        return sql_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or "not UTF-8 text"
        raise click.ClickException(f"{sql_file}: cannot read the SQL ({reason})") from None


def _emit(result: QueryResult, fmt: str, output: Path | None, max_rows: int) -> None:
    seconds = result.engine_ms / 1000
    if result.statement_type != "DML":  # CREATE TABLE AS, DROP TABLE: no rows to show
        count = f"{result.update_count} row(s) written; " if result.columns else ""
        click.echo(
            f"{result.statement_type} statement done; {count}scanned "
            f"{_size(result.scanned_bytes)}; engine {seconds:.3f} s; query {result.query_id}",
            err=True,
        )
        return
    names = [c.name for c in result.columns]
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(names)
        writer.writerows(["" if v is None else v for v in row] for row in result.rows)
        _write(output, buffer.getvalue().encode())
    elif fmt == "parquet":
        _write_parquet(result, output)
    else:
        _print_table(result, max_rows)
    click.echo(
        f"{len(result.rows)} row(s); scanned {_size(result.scanned_bytes)}; engine "
        f"{seconds:.3f} s; query {result.query_id}",
        err=True,
    )


def _print_table(result: QueryResult, max_rows: int) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(*[f"{c.name}\n[dim]{c.type}[/dim]" for c in result.columns])
    for row in result.rows[:max_rows]:
        table.add_row(*["" if v is None else str(v) for v in row])
    Console(soft_wrap=True).print(table)
    if len(result.rows) > max_rows:
        click.echo(f"... {len(result.rows) - max_rows} more row(s) (--max-rows, or --format csv)")


def _write(output: Path | None, data: bytes) -> None:
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    tmp = output.with_name(output.name + ".tmp")
    try:
        tmp.write_bytes(data)
        tmp.replace(output)
    except OSError as error:
        raise click.ClickException(f"{output}: cannot write ({error.strerror})") from None
    click.echo(f"wrote {output}", err=True)


def _write_parquet(result: QueryResult, output: Path | None) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table(
        {c.name: [row[i] for row in result.rows] for i, c in enumerate(result.columns)}
    )
    sink = io.BytesIO()
    pq.write_table(table, sink)
    _write(output, sink.getvalue())


def _size(count: int) -> str:
    size = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{count} B"
