"""Athena's view of a result: column types, values as text, the CSV and its metadata file.

Athena types every result column with a Trino type name (``varchar``, ``bigint``,
``double``, ``boolean``, ``timestamp``, ``date``, ``decimal``, ``array``...) in
``ResultSetMetadata.ColumnInfo``, returns every value as text (``VarCharValue``, absent for
NULL; a SELECT's first row is the header), and writes the result to the output location
as ``<QueryExecutionId>.csv`` (every value double-quoted, NULL as an empty field) plus a
``<QueryExecutionId>.csv.metadata`` file. The metadata file is Athena's own binary format;
here it is JSON holding the same ColumnInfo (readers that use it must go through
GetQueryResults, as Athena's documentation advises: docs/offline.md).
"""

from __future__ import annotations

import io
import json
import math
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.csv as pa_csv

if TYPE_CHECKING:
    import duckdb

PRECISION = {
    "varchar": 2147483647,
    "bigint": 19,
    "integer": 10,
    "smallint": 5,
    "tinyint": 3,
    "double": 17,
    "real": 7,
    "boolean": 0,
    "timestamp": 3,
    "date": 0,
}
_DUCKDB_TO_ATHENA = {
    "VARCHAR": "varchar",
    "BIGINT": "bigint",
    "HUGEINT": "bigint",
    "UBIGINT": "bigint",
    "INTEGER": "integer",
    "UINTEGER": "bigint",
    "SMALLINT": "smallint",
    "USMALLINT": "integer",
    "TINYINT": "tinyint",
    "UTINYINT": "smallint",
    "DOUBLE": "double",
    "FLOAT": "real",
    "BOOLEAN": "boolean",
    "DATE": "date",
    "TIMESTAMP": "timestamp",
    "TIMESTAMP WITH TIME ZONE": "timestamp",
    "TIMESTAMP_MS": "timestamp",
    "TIMESTAMP_NS": "timestamp",
    "TIMESTAMP_S": "timestamp",
    "NULL": "varchar",
    '"NULL"': "varchar",
}


def athena_type(duckdb_type: str) -> str:
    """The Trino type name Athena reports for a DuckDB result column."""
    upper = duckdb_type.upper()
    if upper.endswith("[]"):
        return "array"
    if upper.startswith("DECIMAL"):
        return "decimal"
    if upper.startswith("STRUCT"):
        return "row"
    if upper.startswith("MAP"):
        return "map"
    return _DUCKDB_TO_ATHENA.get(upper, "varchar")


def column_info(columns: list[str], duckdb_types: list[str]) -> list[dict[str, Any]]:
    infos = []
    for name, duck in zip(columns, duckdb_types, strict=True):
        kind = athena_type(duck)
        precision, scale = PRECISION.get(kind, 0), 0
        if kind == "decimal" and "(" in duck:
            precision, scale = (int(x) for x in duck.split("(", 1)[1].rstrip(")").split(","))
        infos.append(
            {
                "CatalogName": "hive",
                "SchemaName": "",
                "TableName": "",
                "Name": name,
                "Label": name,
                "Type": kind,
                "Precision": precision,
                "Scale": scale,
                "Nullable": "UNKNOWN",
                "CaseSensitive": kind == "varchar",
            }
        )
    return infos


def text(value: Any) -> str | None:  # noqa: PLR0911  # one return per value kind
    """A value as Athena writes it (None for NULL)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return repr(value)
    if isinstance(value, datetime):
        return value.replace(tzinfo=None).isoformat(sep=" ", timespec="milliseconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, list | tuple):
        return "[" + ", ".join("null" if (t := text(v)) is None else t for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={text(v)}" for k, v in value.items()) + "}"
    return str(value)


_INTEGERS = frozenset(
    {"BIGINT", "HUGEINT", "UBIGINT", "INTEGER", "UINTEGER", "SMALLINT", "USMALLINT"}
    | {"TINYINT", "UTINYINT"}
)
_TIMESTAMPS = frozenset(
    {"TIMESTAMP", "TIMESTAMP WITH TIME ZONE", "TIMESTAMP_MS", "TIMESTAMP_NS", "TIMESTAMP_S"}
)


def quoted(name: str) -> str:
    """A SQL identifier in double quotes (quotes inside doubled)."""
    return '"' + name.replace('"', '""') + '"'


def _text_sql(col: str, duckdb_type: str) -> str | None:
    """DuckDB's expression for :func:`text` of column ``col`` (quoted), or None for a
    type converted in Python. DuckDB writes a double as Python's ``repr`` does."""
    kind = duckdb_type.upper()
    if kind == "VARCHAR":
        return col
    if kind in _INTEGERS or kind in {"BOOLEAN", "DATE"}:
        return f"CAST({col} AS VARCHAR)"
    if kind == "DOUBLE":
        return (
            f"CASE WHEN isnan({col}) THEN 'NaN' WHEN {col} = 'infinity'::DOUBLE THEN 'Infinity' "
            f"WHEN {col} = '-infinity'::DOUBLE THEN '-Infinity' ELSE CAST({col} AS VARCHAR) END"
        )
    if kind in _TIMESTAMPS:  # the session's time zone is UTC; milliseconds, truncated
        return f"strftime(CAST({col} AS TIMESTAMP), '%Y-%m-%d %H:%M:%S.%g')"
    return None


def text_table(relation: duckdb.DuckDBPyRelation) -> pa.Table:
    """Every value of the result as Athena's text (:func:`text`), one string column per
    result column, formatted by DuckDB a column at a time rather than value by value in
    Python (the few types it does not format as Athena does are converted here)."""
    kinds = [str(t) for t in relation.types]
    columns = [quoted(name) for name in relation.columns]
    exprs = [
        f"{_text_sql(col, kind) or col} AS c{i}"
        for i, (col, kind) in enumerate(zip(columns, kinds, strict=True))
    ]
    table = relation.project(", ".join(exprs)).to_arrow_table()
    arrays = [
        table.column(i)
        if _text_sql(col, kind) is not None
        else pa.array([text(v) for v in table.column(i).to_pylist()], type=pa.string())
        for i, (col, kind) in enumerate(zip(columns, kinds, strict=True))
    ]
    return pa.Table.from_arrays(arrays, names=[f"c{i}" for i in range(len(arrays))])


def page_rows(texts: pa.Table, start: int, count: int) -> list[list[str | None]]:
    """Rows ``start`` to ``start + count`` of a :func:`text_table`."""
    part = texts.slice(start, max(count, 0))
    return [list(row) for row in zip(*(c.to_pylist() for c in part.columns), strict=True)]


def csv_bytes(columns: list[str], texts: pa.Table) -> bytes:
    """Athena's result CSV: header and values double-quoted (quotes doubled), NULL empty."""
    out = io.BytesIO()
    named = texts.rename_columns(columns) if texts.num_columns else texts
    options = pa_csv.WriteOptions(quoting_style="all_valid", batch_size=8192)
    pa_csv.write_csv(named, out, options)
    return out.getvalue()


def metadata_bytes(infos: list[dict[str, Any]], row_count: int) -> bytes:
    return json.dumps({"ColumnInfo": infos, "RowCount": row_count}).encode()
