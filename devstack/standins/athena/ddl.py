"""``CREATE TABLE ... AS SELECT`` and ``DROP TABLE``, run as Athena runs them.

A CTAS runs its SELECT on the query engine, writes the rows as Parquet (Athena's default
CTAS format, GZIP-compressed unless ``write_compression`` says otherwise) to
``external_location`` or, without it, to ``<output location>/tables/<query id>/``, and
registers a Hive table in Glue with the columns typed as Athena types them (partition
columns last, as PartitionKeys, one hive folder ``col=value`` per partition). Athena refuses
a non-empty ``external_location``, an existing table name, more than 100 partitions: so does
this. ``DROP TABLE`` removes the Glue entry and leaves the files, as Athena does for an
external table. Whatever it cannot do is a :class:`QueryError` with a reason (docs/offline.md
cites the pages).

Storage goes through :class:`TableStore` (the stand-in's S3 or its local mirror), so every
location a statement names is checked to stay inside the state folder and the stack's
buckets.
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import duckdb
import pyarrow as pa
import sqlglot
from sqlglot import exp

from devstack.standins.athena.engine import (
    DEFAULT_CATALOG,
    Engine,
    QueryError,
    QueryResult,
    duckdb_type,
)
from devstack.standins.athena.results import quoted
from devstack.standins.featurestore.glue import (
    PARQUET_INPUT,
    PARQUET_OUTPUT,
    PARQUET_SERDE,
    SCHEMA_EVOLVED,
)

MAX_PARTITIONS = 100
"""Athena's limit on the partitions one CTAS may write."""
TABLE_NAME_RE = re.compile(r"^[a-z0-9_]{1,255}$")
BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
COMPRESSIONS = {"GZIP": "gzip", "SNAPPY": "snappy", "ZSTD": "zstd", "NONE": "uncompressed"}
KNOWN_PROPERTIES = {
    "format",
    "external_location",
    "partitioned_by",
    "write_compression",
    "parquet_compression",
    "table_type",
    "bucketed_by",
    "bucket_count",
}
_HIVE_TYPES = {
    "VARCHAR": "string",
    "BIGINT": "bigint",
    "HUGEINT": "bigint",
    "UBIGINT": "bigint",
    "INTEGER": "int",
    "UINTEGER": "bigint",
    "SMALLINT": "smallint",
    "USMALLINT": "int",
    "TINYINT": "tinyint",
    "UTINYINT": "smallint",
    "DOUBLE": "double",
    "FLOAT": "float",
    "BOOLEAN": "boolean",
    "DATE": "date",
    "TIMESTAMP": "timestamp",
    "TIMESTAMP_MS": "timestamp",
    "TIMESTAMP_NS": "timestamp",
    "TIMESTAMP_S": "timestamp",
    "TIMESTAMP WITH TIME ZONE": "timestamp",
}
ROWS_COLUMN = "rows"
_DDL_START = re.compile(r"^\s*(?:--[^\n]*(?:\n|$)\s*|/\*.*?\*/\s*)*(?:create|drop)\b", re.I | re.S)


class TableStore(Protocol):
    """Where table files live: the stand-in's S3 (or its local mirror without one)."""

    def glue(self) -> Any: ...

    def check_location(self, location: str) -> None:
        """Raise QueryError unless ``location`` is an ``s3://`` location this stack may write."""

    def is_empty(self, location: str) -> bool: ...

    def upload(self, folder: Path, location: str) -> list[str]:
        """Put every file under ``folder`` at ``location``; the S3 URIs written."""

    def scratch(self, query_id: str) -> Path: ...


@dataclass
class DdlOutcome:
    """What a DDL statement leaves for GetQueryExecution/GetQueryResults."""

    result: QueryResult
    update_count: int = 0
    data_files: list[str] = field(default_factory=list)
    manifest: bool = False  # a data manifest is written (CTAS)


@dataclass
class Plan:
    """One CTAS: the table, where its files go, how they are laid out."""

    db: str
    name: str
    location: str  # s3://bucket/prefix, no trailing slash
    partitions: list[str]
    compression: str  # DuckDB's codec name
    columns: list[tuple[str, str]] = field(default_factory=list)  # (name, hive type)


def statement(sql: str) -> exp.Create | exp.Drop | None:
    """The CTAS or DROP TABLE that ``sql`` is, else None (the engine runs or refuses it)."""
    if not _DDL_START.match(sql):  # a query is parsed once, by the engine
        return None
    try:
        trees = [t for t in sqlglot.parse(sql, read="trino") if t is not None]
    except (sqlglot.errors.SqlglotError, RecursionError):
        return None  # the engine reports the syntax error with its position
    if len(trees) != 1:
        return None
    tree = trees[0]
    if isinstance(tree, exp.Create) and tree.kind == "TABLE" and tree.expression is not None:
        return tree
    if isinstance(tree, exp.Drop) and tree.kind == "TABLE":
        return tree
    return None


@dataclass
class Ddl:
    engine: Engine
    store: TableStore

    def run(
        self,
        query_id: str,
        tree: exp.Create | exp.Drop,
        database: str,
        output_dir: str,
        cancelled: Callable[[], bool] = lambda: False,
    ) -> DdlOutcome:
        """``cancelled()`` is asked before the table is registered: a query stopped while it
        wrote registers nothing (its files stay, as Athena leaves them)."""
        if isinstance(tree, exp.Drop):
            return self._drop(tree, database)
        return self._create_as(query_id, tree, database, output_dir, cancelled)

    # -- DROP TABLE ----------------------------------------------------------------------

    def _drop(self, tree: exp.Drop, database: str) -> DdlOutcome:
        from botocore.exceptions import ClientError

        tables = tree.args.get("tables") or []
        if len(tables) != 1:
            raise QueryError("NOT_SUPPORTED: DROP TABLE names one table")
        db, name = _target(tables[0], database)
        try:
            self.store.glue().delete_table(DatabaseName=db, Name=name)
        except ClientError as error:
            if error.response["Error"]["Code"] != "EntityNotFoundException":
                raise QueryError(f"the Glue catalog refused the drop: {_code(error)}") from None
            if not tree.args.get("exists"):
                raise QueryError(
                    f"TABLE_NOT_FOUND: Table '{DEFAULT_CATALOG}.{db}.{name}' does not exist"
                ) from None
        return DdlOutcome(QueryResult([], [], pa.table({}), 0, 0))

    # -- CREATE TABLE AS -----------------------------------------------------------------

    def _create_as(
        self,
        query_id: str,
        tree: exp.Create,
        database: str,
        output_dir: str,
        cancelled: Callable[[], bool],
    ) -> DdlOutcome:
        started = time.perf_counter()
        db, name = _target(tree.this, database)
        props = _properties(tree)
        glue = self.store.glue()
        _require_database(glue, db)
        if _table_exists(glue, db, name):
            if tree.args.get("exists"):  # IF NOT EXISTS: nothing to do
                return DdlOutcome(_rows_result(0, 0, 0))
            raise QueryError(
                f"TABLE_ALREADY_EXISTS: Destination table '{DEFAULT_CATALOG}.{db}.{name}' "
                "already exists"
            )
        external = props.get("external_location")
        location = (external or f"{output_dir.rstrip('/')}/tables/{query_id}").rstrip("/")
        self.store.check_location(location)
        if external and not self.store.is_empty(location):
            raise QueryError(
                f"HIVE_PATH_ALREADY_EXISTS: Target directory for table '{db}.{name}' already "
                f"exists: {location}. You may need to manually clean the data at location "
                "before retrying."
            )
        partitions = props.get("partitioned_by", [])
        select = tree.expression
        _require_named_columns(select)
        if props.get("no_data"):
            select = exp.select("*").from_(select.subquery("ctas")).limit(0)
        result = self.engine.run(query_id, select.sql(dialect="trino"), database, typed=True)
        data = result.data if result.data is not None else pa.table({})
        rows = data.num_rows
        plan = Plan(db, name, location, partitions, props["compression"])
        plan.columns = _columns(result, partitions)
        files: list[str] = []
        if rows:
            folder = self.store.scratch(query_id)
            try:
                _write_parquet(folder / query_id, data, plan)
                files = self.store.upload(folder, location)
            finally:
                shutil.rmtree(folder, ignore_errors=True)
        if cancelled():
            raise QueryError("Query cancelled by user")
        _register(glue, plan, files)
        engine_ms = int((time.perf_counter() - started) * 1000)
        return DdlOutcome(
            _rows_result(rows, result.scanned_bytes, engine_ms),
            update_count=rows,
            data_files=files,
            manifest=True,
        )


def _rows_result(count: int, scanned: int, engine_ms: int) -> QueryResult:
    """A CTAS answers no rows; the count is GetQueryResults' UpdateCount."""
    del count
    return QueryResult(
        [ROWS_COLUMN], ["BIGINT"], pa.table({"c0": pa.array([], pa.string())}), scanned, engine_ms
    )


def _target(table: exp.Expression, database: str) -> tuple[str, str]:
    if not isinstance(table, exp.Table):
        raise QueryError("NOT_SUPPORTED: the statement does not name a table")
    if table.catalog and table.catalog.lower() != DEFAULT_CATALOG:
        raise QueryError(f"CATALOG_NOT_FOUND: Catalog '{table.catalog}' does not exist")
    db, name = (table.db or database).lower(), table.name.lower()
    if not TABLE_NAME_RE.match(name):
        raise QueryError(
            "INVALID_TABLE_NAME: a table name may hold only letters, digits and underscores"
        )
    return db, name


def _literal(value: exp.Expression, prop: str) -> str:
    if isinstance(value, exp.Literal) and value.is_string:
        return str(value.this)
    raise QueryError(f"INVALID_TABLE_PROPERTY: {prop} must be a string literal")


def _properties(tree: exp.Create) -> dict[str, Any]:
    """The WITH (...) properties Athena's CTAS takes, checked; ``no_data`` for WITH NO DATA."""
    out: dict[str, Any] = {}
    props = tree.args.get("properties")
    for prop in props.expressions if props else []:
        if isinstance(prop, exp.WithDataProperty):
            out["no_data"] = bool(prop.args.get("no"))
        elif isinstance(prop, exp.FileFormatProperty):
            out["format"] = _literal(prop.this, "format").upper()
        elif isinstance(prop, exp.PartitionedByProperty):
            array = prop.this
            if not isinstance(array, exp.Array):
                raise QueryError("INVALID_TABLE_PROPERTY: partitioned_by must be ARRAY['col', ...]")
            out["partitioned_by"] = [
                _literal(v, "partitioned_by").lower() for v in array.expressions
            ]
        elif isinstance(prop, exp.Property):
            key = prop.name.lower()
            if key not in KNOWN_PROPERTIES:
                raise QueryError(
                    f"INVALID_TABLE_PROPERTY: Catalog '{DEFAULT_CATALOG}' table property "
                    f"'{key[:64]}' does not exist"
                )
            out[key] = prop.args.get("value")
        else:
            raise QueryError("NOT_SUPPORTED: this table property is not run by the local Athena")
    return _checked(out)


def _checked(out: dict[str, Any]) -> dict[str, Any]:
    """Refuse what the local Athena does not write; the string values and the codec."""
    if out.get("format", "PARQUET") != "PARQUET":
        raise QueryError("NOT_SUPPORTED: the local Athena writes CTAS tables as PARQUET only")
    table_type = out.pop("table_type", None)
    if table_type is not None and _literal(table_type, "table_type").upper() != "HIVE":
        raise QueryError("NOT_SUPPORTED: the local Athena creates HIVE tables only")
    if out.pop("bucketed_by", None) is not None or out.pop("bucket_count", None) is not None:
        raise QueryError("NOT_SUPPORTED: the local Athena does not bucket CTAS tables")
    for key in ("external_location", "write_compression", "parquet_compression"):
        if key in out:
            out[key] = _literal(out[key], key)
    compression = (out.get("write_compression") or out.get("parquet_compression") or "GZIP").upper()
    if compression not in COMPRESSIONS:
        raise QueryError(
            f"INVALID_TABLE_PROPERTY: write_compression must be one of {', '.join(COMPRESSIONS)}"
        )
    out["compression"] = COMPRESSIONS[compression]
    return out


def _require_database(glue: Any, db: str) -> None:
    from botocore.exceptions import ClientError

    try:
        glue.get_database(Name=db)
    except ClientError as error:
        if error.response["Error"]["Code"] == "EntityNotFoundException":
            raise QueryError(f"SCHEMA_NOT_FOUND: Schema '{db}' does not exist") from None
        raise QueryError(f"the Glue catalog refused the lookup: {_code(error)}") from None


def _table_exists(glue: Any, db: str, name: str) -> bool:
    from botocore.exceptions import ClientError

    try:
        glue.get_table(DatabaseName=db, Name=name)
    except ClientError as error:
        if error.response["Error"]["Code"] == "EntityNotFoundException":
            return False
        raise QueryError(f"the Glue catalog refused the lookup: {_code(error)}") from None
    return True


def _require_named_columns(select: exp.Expression) -> None:
    """Every column of a table needs a name: ``count(*)`` without ``AS`` has none."""
    if not isinstance(select, exp.Select):
        return
    for position, column in enumerate(select.selects, start=1):
        if not isinstance(column, exp.Alias | exp.Column | exp.Star):
            raise QueryError(
                f"COLUMN_NAME_NOT_SPECIFIED: Column name not specified at position {position}"
            )


def hive_type(duckdb_type: str) -> str | None:
    """The Glue/Hive column type Athena gives a result column of this type (None: none)."""
    upper = duckdb_type.upper()
    if upper.endswith("[]"):
        inner = hive_type(duckdb_type[:-2])
        return None if inner is None else f"array<{inner}>"
    if upper.startswith("DECIMAL"):
        return duckdb_type.lower().replace(" ", "")
    return _HIVE_TYPES.get(upper)


def _columns(result: QueryResult, partitions: list[str]) -> list[tuple[str, str]]:
    """(name, hive type) of each result column; partition columns must come last."""
    names = [c.lower() for c in result.columns]
    seen: set[str] = set()
    columns = []
    for name, duck in zip(names, result.types, strict=True):
        if name in seen:
            raise QueryError(
                f"DUPLICATE_COLUMN_NAME: Column name '{name}' specified more than once"
            )
        seen.add(name)
        kind = hive_type(duck)
        if kind is None:
            raise QueryError(f"NOT_SUPPORTED: Unsupported Hive type for column '{name}': {duck}")
        columns.append((name, kind))
    if partitions:
        missing = [p for p in partitions if p not in seen]
        if missing:
            raise QueryError(f"INVALID_TABLE_PROPERTY: Partition column '{missing[0]}' not found")
        if names[-len(partitions) :] != partitions:
            raise QueryError(
                "NOT_SUPPORTED: Partition keys must be the last columns in the table and in "
                "the same order as the table properties: " + ", ".join(partitions)
            )
        if len(partitions) == len(names):
            raise QueryError("INVALID_TABLE_PROPERTY: Table contains only partition columns")
    return columns


def _write_parquet(stem: Path, rows: pa.Table, plan: Plan) -> None:
    """The rows as Parquet (``plan.compression``): one file ``<stem>_0.parquet``, or one per
    hive partition folder under ``stem``'s folder, the partition columns left out of the
    files."""
    columns, partitions = plan.columns, plan.partitions
    data = rows.rename_columns([f"c{i}" for i in range(len(columns))])
    selected = ", ".join(
        f'CAST("c{i}" AS {duckdb_type(kind)}) AS {quoted(name)}'
        for i, (name, kind) in enumerate(columns)
    )
    source = f"SELECT {selected} FROM ctas_rows"  # noqa: S608  # nosec B608  # checked names
    conn = duckdb.connect(config={"threads": 2})
    try:
        conn.register("ctas_rows", data)
        if partitions:
            keys = ", ".join(quoted(p) for p in partitions)
            distinct = f"SELECT count(*) FROM (SELECT DISTINCT {keys} FROM ({source}))"  # noqa: S608  # nosec B608
            found = conn.execute(distinct).fetchone()
            if found is not None and found[0] > MAX_PARTITIONS:
                raise QueryError(
                    "HIVE_TOO_MANY_OPEN_PARTITIONS: Exceeded limit of "
                    f"{MAX_PARTITIONS} open writers for partitions/buckets"
                )
            target = str(stem.parent)
            options = f", PARTITION_BY ({keys}), FILENAME_PATTERN '{stem.name}_{{i}}'"
        else:
            target, options = f"{stem}_0.parquet", ""
        target = target.replace("'", "''")
        conn.execute(
            f"COPY ({source}) TO '{target}' "
            f"(FORMAT PARQUET, COMPRESSION '{plan.compression}'{options})"
        )
    except duckdb.Error as error:
        raise QueryError(f"HIVE_WRITER_ERROR: {str(error).splitlines()[0]}") from None
    finally:
        conn.close()


def _register(glue: Any, plan: Plan, files: list[str]) -> None:
    """The Hive table in Glue (and its partitions), typed as Athena types a CTAS table."""
    from botocore.exceptions import ClientError

    db, name, location = plan.db, plan.name, plan.location
    columns, partitions = plan.columns, plan.partitions

    kinds = dict(columns)
    storage = {
        "Columns": [{"Name": n, "Type": t} for n, t in columns if n not in partitions],
        "Location": location,
        "InputFormat": PARQUET_INPUT,
        "OutputFormat": PARQUET_OUTPUT,
        "SerdeInfo": {"SerializationLibrary": PARQUET_SERDE, "Parameters": {}},
    }
    table = {
        "Name": name,
        "TableType": "EXTERNAL_TABLE",
        "Parameters": {
            "EXTERNAL": "TRUE",
            "classification": "parquet",
            "has_encrypted_data": "false",
            "parquet.compression": plan.compression.upper(),
            SCHEMA_EVOLVED: "false",  # one CTAS writes every file with the same columns
        },
        "PartitionKeys": [{"Name": p, "Type": kinds[p]} for p in partitions],
        "StorageDescriptor": storage,
    }
    try:
        glue.create_table(DatabaseName=db, TableInput=table)
    except ClientError as error:
        if error.response["Error"]["Code"] == "AlreadyExistsException":
            raise QueryError(
                f"TABLE_ALREADY_EXISTS: Destination table '{DEFAULT_CATALOG}.{db}.{name}' "
                "already exists"
            ) from None
        raise QueryError(f"the Glue catalog refused the table: {_code(error)}") from None
    folders = sorted({f.removeprefix(location + "/").rsplit("/", 1)[0] for f in files})
    inputs = [
        {
            "Values": [part.split("=", 1)[1] for part in folder.split("/")],
            "StorageDescriptor": {**storage, "Location": f"{location}/{folder}"},
        }
        for folder in folders
        if partitions
    ]
    for start in range(0, len(inputs), 100):  # BatchCreatePartition takes 100 at a time
        glue.batch_create_partition(
            DatabaseName=db, TableName=name, PartitionInputList=inputs[start : start + 100]
        )


def _code(error: Exception) -> str:
    response = getattr(error, "response", None)
    if isinstance(response, dict) and "Error" in response:
        return str(response["Error"].get("Code") or type(error).__name__)
    return type(error).__name__
