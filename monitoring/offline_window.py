"""A feature group's offline rows for drift, read through Athena's API: the local stack's
stand-in (DuckDB) or Athena on AWS, with the clients ``featurestream offline query`` uses.

One query per group: Athena drops delete markers, keeps the rows whose event time falls in
either window (the scheduled check's :meth:`TimeWindow.where`), and returns only the
group's numeric features plus the event time in epoch seconds. The result is read from the
CSV Athena writes at the query's output location (one GET, parsed by pyarrow, typed by
the result's column types) instead of a GetQueryResults call per 1,000 rows. Splitting the
rows into the two windows happens in memory.
"""

# ruff: noqa: S608 - the SQL is built from catalog names (quoted) and formatted instants
from __future__ import annotations

import io
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from featurestream.contract.catalog import FeatureGroupSpec
from featurestream.monitoring.athena_drift import TimeWindow
from monitoring.windows import Window

if TYPE_CHECKING:
    from collections.abc import Callable

    import pyarrow as pa

    from featurestream.offline.tables import OfflineTable

EPOCH_COLUMN: Final = "event_epoch_s"
"""The event time as seconds since the epoch (a double), for the in-memory split."""


class OfflineReadError(RuntimeError):
    """The rows could not be read; the message is for the user (no values, no traceback)."""


def time_window(window: Window) -> TimeWindow:
    """The scheduled check's window type for ``window`` (same bounds)."""
    return TimeWindow(window.start, window.end)


def window_sql(group: FeatureGroupSpec, table: OfflineTable, condition: str) -> str:
    """The rows of ``table`` meeting ``condition`` (a ``TimeWindow.where()`` clause or an OR
    of them): the features drift compares and the event time in epoch seconds."""
    from featurestream.offline.views import quoted

    numeric = [quoted(f.name) for f in group.features if f.type != "String" and f.drift_compared]
    epoch = f"to_unixtime(from_iso8601_timestamp({quoted(table.event_time)}))"
    return (
        f"SELECT {', '.join([*numeric, f'{epoch} AS {EPOCH_COLUMN}'])} "  # nosec B608
        f"FROM {table.qualified} WHERE {condition}"
    )


_ARROW_TYPES: Final = {
    "double": "float64",
    "float": "float64",
    "real": "float64",
    "bigint": "int64",
    "integer": "int64",
    "int": "int64",
    "smallint": "int64",
    "tinyint": "int64",
    "boolean": "bool",
}


def csv_table(body: bytes, columns: list[tuple[str, str]]) -> pa.Table:
    """Athena's result CSV (a header row; NULL as an empty field) as an Arrow table typed by
    the result's ``(name, Athena type)`` columns (other types stay text)."""
    import pyarrow as pa
    from pyarrow import csv

    types = {
        name: pa.type_for_alias(_ARROW_TYPES.get(kind.lower(), "string")) for name, kind in columns
    }
    options = csv.ConvertOptions(column_types=types, strings_can_be_null=True)
    return csv.read_csv(io.BytesIO(body), convert_options=options)


@dataclass
class OfflineReader:
    """Athena, S3 (the result CSV) and SageMaker (the group's Glue table) clients."""

    athena: Any
    s3: Any
    sagemaker: Any
    workgroup: str | None
    output_location: str | None = None
    timeout: float = 600.0

    @classmethod
    def connect(cls, workgroup: str | None, output_location: str | None) -> OfflineReader:
        """Clients on the environment's endpoints (``featurestream local env``) or AWS's."""
        from featurestream.aws.clients import client_config, create_client
        from featurestream.offline.athena import athena_client, s3_client

        sagemaker = create_client("sagemaker", client_config(max_attempts=3, validate=True))
        return cls(athena_client(), s3_client(), sagemaker, workgroup, output_location)

    def table(self, group: str) -> OfflineTable:
        """The deployed group's offline table (DescribeFeatureGroup's DataCatalogConfig)."""
        from featurestream.offline.tables import OfflineTableError, describe_table

        table: OfflineTable = self._guarded(
            group, lambda: describe_table(self.sagemaker, group), OfflineTableError
        )
        return table

    def rows(self, group: str, sql: str, database: str) -> pa.Table:
        """Run ``sql`` to the end and read its result CSV."""
        from featurestream.offline.athena import QueryFailed

        rows: pa.Table = self._guarded(group, lambda: self._rows(sql, database), QueryFailed)
        return rows

    def _rows(self, sql: str, database: str) -> pa.Table:
        from featurestream.offline.athena import column_types, start_query, wait_for

        query_id = start_query(
            self.athena,
            sql,
            database=database,
            workgroup=self.workgroup,
            output_location=self.output_location,
        )
        execution = wait_for(self.athena, query_id, timeout=self.timeout)
        location = str(execution.get("ResultConfiguration", {}).get("OutputLocation", ""))
        bucket, _, key = location.removeprefix("s3://").partition("/")
        columns = [(c.name, c.type) for c in column_types(self.athena, query_id)]
        body = self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        return csv_table(body, columns)

    def _guarded(self, group: str, action: Callable[[], Any], *expected: type[Exception]) -> Any:
        """``action()``; Athena's, the catalog's and the network's errors become one line."""
        from botocore.exceptions import BotoCoreError, ClientError

        from featurestream.offline.athena import QueryFailed

        try:
            return action()
        except QueryFailed as error:
            raise OfflineReadError(
                f"the query of {group}'s offline rows {error.state.lower()} "
                f"(Athena query id {error.query_id}): {error.reason}"
            ) from None
        except ClientError as error:
            err = error.response.get("Error", {})
            code = err.get("Code", "")
            if code in ("ResourceNotFound", "ResourceNotFoundException"):
                raise OfflineReadError(f"feature group {group} does not exist") from None
            raise OfflineReadError(f"{error.operation_name} failed: {code}") from None
        except BotoCoreError as error:
            raise OfflineReadError(
                f"cannot reach Athena or SageMaker ({type(error).__name__}; is the local stack "
                "up? `featurestream local up`, then `eval $(featurestream local env)`)"
            ) from None
        except expected as error:
            raise OfflineReadError(str(error)) from None


def within(rows: pa.Table, window: Window) -> pa.Table:
    """The rows already read whose event time is in ``window`` (start inclusive, end not)."""
    import pyarrow.compute as pc

    seconds = rows.column(EPOCH_COLUMN)
    keep = pc.is_valid(seconds)
    if window.start is not None:
        keep = pc.and_(keep, pc.greater_equal(seconds, window.start.timestamp()))
    if window.end is not None:
        keep = pc.and_(keep, pc.less(seconds, window.end.timestamp()))
    return rows.filter(keep)
