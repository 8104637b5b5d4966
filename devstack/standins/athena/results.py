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
from typing import Any

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


def csv_bytes(columns: list[str], rows: list[list[str | None]]) -> bytes:
    """Athena's result CSV: header and values double-quoted (quotes doubled), NULL empty."""
    out = io.StringIO()

    def field(value: str | None) -> str:
        return "" if value is None else '"' + value.replace('"', '""') + '"'

    out.write(",".join(field(c) for c in columns) + "\n")
    for row in rows:
        out.write(",".join(field(v) for v in row) + "\n")
    return out.getvalue().encode()


def metadata_bytes(infos: list[dict[str, Any]], row_count: int) -> bytes:
    return json.dumps({"ColumnInfo": infos, "RowCount": row_count}).encode()
