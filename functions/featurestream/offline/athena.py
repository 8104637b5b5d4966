"""Run one Athena query to the end: start it, poll its state, page its results, type them.

Athena answers every value as text, with each column's type in ``ColumnInfo``; a SELECT's
first row is the header. :func:`run_query` turns that into typed Python values (``bigint``
-> int, ``double`` -> float, ``boolean`` -> bool, ``timestamp`` -> datetime, ``date`` ->
date, anything else stays text), and a query that ends ``FAILED`` or ``CANCELLED`` into
:class:`QueryFailed` carrying Athena's reason. Polling never outlives ``timeout``: the query
is stopped and :class:`QueryFailed` raised.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Final

from featurestream.aws.clients import client_config, create_client

INTEGER_TYPES: Final = frozenset({"tinyint", "smallint", "integer", "int", "bigint"})
FLOAT_TYPES: Final = frozenset({"double", "float", "real"})
PAGE_SIZE: Final = 1000
"""Athena's largest GetQueryResults page."""


class QueryFailed(Exception):
    """The query ended FAILED or CANCELLED (or ran past the timeout); ``reason`` is Athena's."""

    def __init__(self, query_id: str, state: str, reason: str) -> None:
        super().__init__(f"query {query_id} {state}: {reason}")
        self.query_id, self.state, self.reason = query_id, state, reason


@dataclass(frozen=True)
class Column:
    name: str
    type: str


@dataclass
class QueryResult:
    """A finished query: typed rows, and what Athena reports about its run."""

    query_id: str
    columns: list[Column]
    rows: list[tuple[Any, ...]]
    scanned_bytes: int
    engine_ms: int
    total_ms: int
    output_location: str
    statistics: dict[str, Any] = field(default_factory=dict)
    statement_type: str = "DML"
    update_count: int = 0
    """Rows a CREATE TABLE AS SELECT (or INSERT INTO) wrote: GetQueryResults' UpdateCount."""


def s3_client() -> Any:
    """botocore's S3 client (endpoint from ``AWS_ENDPOINT_URL_S3`` when set)."""
    return create_client("s3", client_config(max_attempts=3, read_timeout=60.0, validate=True))


def athena_client() -> Any:
    """botocore's Athena client (endpoint from ``AWS_ENDPOINT_URL_ATHENA`` when set)."""
    config = client_config(max_attempts=3, read_timeout=30.0, validate=True)
    return create_client("athena", config)


def _timestamp(value: str) -> datetime:
    return datetime.fromisoformat(value.split(" UTC", maxsplit=1)[0])


def _boolean(value: str) -> bool:
    return value == "true"


def _text(value: str) -> str:
    return value


def converter(athena_type: str) -> Callable[[str], Any]:
    """The function turning a non-NULL ``VarCharValue`` of an Athena type into Python."""
    kind = athena_type.lower()
    simple: dict[str, Callable[[str], Any]] = {
        "decimal": Decimal,
        "boolean": _boolean,
        "date": date.fromisoformat,
    }
    if kind in INTEGER_TYPES:
        return int
    if kind in FLOAT_TYPES:
        return float
    if kind.startswith("timestamp"):
        return _timestamp
    return simple.get(kind, _text)


def convert(value: str | None, athena_type: str) -> Any:
    """One ``VarCharValue`` as the Python value of its Athena type (None stays None)."""
    return None if value is None else converter(athena_type)(value)


def start_query(
    client: Any,
    sql: str,
    *,
    database: str,
    workgroup: str | None = None,
    output_location: str | None = None,
) -> str:
    request: dict[str, Any] = {
        "QueryString": sql,
        "QueryExecutionContext": {"Database": database, "Catalog": "AwsDataCatalog"},
    }
    if workgroup:
        request["WorkGroup"] = workgroup
    if output_location:
        request["ResultConfiguration"] = {"OutputLocation": output_location}
    return str(client.start_query_execution(**request)["QueryExecutionId"])


def wait_for(
    client: Any,
    query_id: str,
    *,
    timeout: float = 600.0,
    poll: float = 0.1,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """The query's execution document once it ends SUCCEEDED; :class:`QueryFailed` if it
    ends otherwise or ``timeout`` passes (then it is stopped). Polls back off to 2 s."""
    deadline = time.monotonic() + timeout
    while True:
        execution: dict[str, Any] = client.get_query_execution(QueryExecutionId=query_id)[
            "QueryExecution"
        ]
        status = execution["Status"]
        state = status["State"]
        if state == "SUCCEEDED":
            return execution
        if state in ("FAILED", "CANCELLED"):
            reason = status.get("StateChangeReason") or status.get("AthenaError", {}).get(
                "ErrorMessage", "no reason given"
            )
            raise QueryFailed(query_id, state, reason)
        if time.monotonic() > deadline:
            client.stop_query_execution(QueryExecutionId=query_id)
            raise QueryFailed(query_id, "CANCELLED", f"still {state} after {timeout:.0f} s")
        sleep(poll)
        poll = min(poll * 1.5, 2.0)


def result_pages(client: Any, query_id: str) -> Iterator[dict[str, Any]]:
    token: str | None = None
    while True:
        request: dict[str, Any] = {"QueryExecutionId": query_id, "MaxResults": PAGE_SIZE}
        if token:
            request["NextToken"] = token
        page: dict[str, Any] = client.get_query_results(**request)
        yield page
        token = page.get("NextToken")
        if not token:
            return


def read_results(
    client: Any, query_id: str, *, header: bool = True
) -> tuple[list[Column], list[tuple[Any, ...]]]:
    """Every row, typed; ``header``: the first row is the column names (a SELECT's is)."""
    columns: list[Column] = []
    rows: list[tuple[Any, ...]] = []
    skip = header
    for page in result_pages(client, query_id):
        if not columns:
            info = page["ResultSet"]["ResultSetMetadata"]["ColumnInfo"]
            columns = [Column(c["Name"], c["Type"]) for c in info]
        for row in page["ResultSet"]["Rows"]:
            if skip:
                skip = False
                continue
            values = [d.get("VarCharValue") for d in row["Data"]]
            rows.append(tuple(convert(v, c.type) for v, c in zip(values, columns, strict=True)))
    return columns, rows


def column_types(client: Any, query_id: str) -> list[Column]:
    """The result's columns, from a one-row GetQueryResults page."""
    page = client.get_query_results(QueryExecutionId=query_id, MaxResults=1)
    info = page["ResultSet"]["ResultSetMetadata"]["ColumnInfo"]
    return [Column(c["Name"], c["Type"]) for c in info]


def read_results_csv(s3: Any, output_location: str, columns: list[Column]) -> list[tuple[Any, ...]]:
    """Every row from the result CSV Athena wrote to ``output_location``, typed by
    ``columns``. One GET instead of a GetQueryResults call per 1,000 rows; an empty field
    reads as NULL (Athena writes NULL as an empty field, an empty string as ``""``, which
    this reader does not tell apart)."""
    bucket, _, key = output_location.removeprefix("s3://").partition("/")
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8")
    reader = csv.reader(io.StringIO(body))
    next(reader, None)  # the header
    fields = list(zip(*reader, strict=True))  # column by column: one converter per column
    if not fields:
        return []
    typed = [
        [None if v == "" else to_python(v) for v in values]
        for values, to_python in zip(fields, (converter(c.type) for c in columns), strict=True)
    ]
    return list(zip(*typed, strict=True))


def run_query(
    sql: str,
    *,
    database: str,
    workgroup: str | None = None,
    output_location: str | None = None,
    client: Any = None,
    timeout: float = 600.0,
    s3: Any = None,
) -> QueryResult:
    """Start, wait, read: the whole query, typed. With ``s3`` (a client), the rows come from
    the result CSV in one GET (large results: paging costs a call and a parse per 1,000
    rows); otherwise from GetQueryResults pages."""
    client = client or athena_client()
    query_id = start_query(
        client, sql, database=database, workgroup=workgroup, output_location=output_location
    )
    execution = wait_for(client, query_id, timeout=timeout)
    location = str(execution.get("ResultConfiguration", {}).get("OutputLocation", ""))
    statement_type = str(execution.get("StatementType", "DML"))
    update_count = 0
    if statement_type != "DML":  # DDL (a CTAS among them): no header row, a short answer
        columns, rows = read_results(client, query_id, header=False)
        first = client.get_query_results(QueryExecutionId=query_id, MaxResults=1)
        update_count = int(first.get("UpdateCount", 0))
    elif s3 is not None and location:
        columns = column_types(client, query_id)
        rows = read_results_csv(s3, location, columns)
    else:
        columns, rows = read_results(client, query_id)
    stats = execution.get("Statistics", {})
    return QueryResult(
        query_id=query_id,
        columns=columns,
        rows=rows,
        scanned_bytes=int(stats.get("DataScannedInBytes", 0)),
        engine_ms=int(stats.get("EngineExecutionTimeInMillis", 0)),
        total_ms=int(stats.get("TotalExecutionTimeInMillis", 0)),
        output_location=str(execution.get("ResultConfiguration", {}).get("OutputLocation", "")),
        statistics=stats,
        statement_type=statement_type,
        update_count=update_count,
    )
