"""One Athena query on DuckDB: Trino SQL in, typed rows out, tables resolved through Glue.

The query is parsed as Trino (Athena engine version 3) by sqlglot. Each table it names that
is not a CTE is looked up in the Glue catalog (the query's database when unqualified, the
``AwsDataCatalog`` catalog dropped) and becomes a DuckDB view over the table's Parquet
files: the Glue columns cast to their types, the partition keys as strings (hive
partitioning, as Athena reads the service's ``year=/month=/day=/hour=`` folders). The query
is then written as DuckDB SQL and run on a fresh in-memory connection.

Athena's DDL is not DuckDB's, so statements other than queries (SELECT, WITH, VALUES,
SHOW/DESCRIBE excluded) are refused with a reason rather than half-run.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import sqlglot
from sqlglot import exp

from devstack.standins.athena.compaction import TableCompactor, list_parquet
from devstack.standins.athena.results import quoted, text_table

DEFAULT_CATALOG = "awsdatacatalog"
HIVE_TO_DUCKDB = {
    "string": "VARCHAR",
    "varchar": "VARCHAR",
    "char": "VARCHAR",
    "bigint": "BIGINT",
    "int": "INTEGER",
    "integer": "INTEGER",
    "smallint": "SMALLINT",
    "tinyint": "TINYINT",
    "double": "DOUBLE",
    "float": "FLOAT",
    "boolean": "BOOLEAN",
    "timestamp": "TIMESTAMP",
    "date": "DATE",
}


class QueryError(Exception):
    """A query Athena would fail: the message is Athena's reason (no Python traceback)."""


@dataclass(frozen=True)
class GlueTable:
    """What the engine needs of a Glue table: its columns, partition keys and files."""

    database: str
    name: str
    columns: list[tuple[str, str]]  # (name, hive type), partition keys last
    partition_keys: list[str]
    location: str  # s3://bucket/prefix
    same_schema: bool = False  # every file has the same columns (no union by name needed)


@dataclass
class QueryResult:
    columns: list[str]
    types: list[str]  # DuckDB type names
    texts: pa.Table  # every value as Athena's text (results.text_table), one column each
    scanned_bytes: int
    engine_ms: int
    data: pa.Table | None = None
    """The typed values (``run(typed=True)``): what CREATE TABLE AS writes; texts then empty."""


@dataclass
class Engine:
    """Runs queries; ``lookup(database, table)`` reads Glue (None: no such table) and
    ``files(location)`` gives the local folder holding ``location``'s objects."""

    lookup: Callable[[str, str], GlueTable | None]
    files: Callable[[str], Path]
    compactor: TableCompactor | None = None
    _running: dict[str, duckdb.DuckDBPyConnection] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self, query_id: str, sql: str, database: str, *, typed: bool = False) -> QueryResult:
        started = time.perf_counter()
        tree = _parse(sql)
        conn = duckdb.connect(config={"threads": 2})
        with self._lock:
            self._running[query_id] = conn
        try:
            conn.execute("SET TimeZone = 'UTC'")
            try:  # creating a view reads its first file's footer
                scanned, folders = self._bind_tables(conn, tree, database.lower())
            except duckdb.Error as error:
                raise QueryError(_duckdb_reason(error)) from None
            except pa.ArrowException as error:  # compaction met a file it cannot read
                lines = str(error).strip().splitlines() or [type(error).__name__]
                raise QueryError(f"HIVE_BAD_DATA: {lines[0]}") from None
            _lock_down(conn, folders)
            duck_sql = tree.sql(dialect="duckdb")
            try:
                relation = conn.sql(duck_sql)
                if relation is None:
                    raise QueryError("NOT_SUPPORTED: only queries are run by the local engine")
                columns = list(relation.columns)
                types = [str(t) for t in relation.types]
                data = relation.to_arrow_table() if typed else None
                texts = text_table(relation) if data is None else pa.table({})
            except duckdb.InterruptException:
                raise QueryError("Query cancelled by user") from None
            except duckdb.Error as error:
                raise QueryError(_duckdb_reason(error)) from None
        finally:
            with self._lock:
                self._running.pop(query_id, None)
            conn.close()
        engine_ms = int((time.perf_counter() - started) * 1000)
        return QueryResult(columns, types, texts, scanned, engine_ms, data)

    def interrupt(self, query_id: str) -> None:
        with self._lock:
            conn = self._running.get(query_id)
        if conn is not None:
            conn.interrupt()

    def _bind_tables(
        self, conn: duckdb.DuckDBPyConnection, tree: exp.Expression, db: str
    ) -> tuple[int, list[Path]]:
        """A view per Glue table the query names; returns the bytes of the files behind them
        and their folders."""
        ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
        bound: dict[tuple[str, str], GlueTable] = {}
        for table in list(tree.find_all(exp.Table)):
            name = table.name.lower()
            if not name or (not table.db and name in ctes):
                continue
            if table.catalog and table.catalog.lower() != DEFAULT_CATALOG:
                raise QueryError(f"CATALOG_NOT_FOUND: Catalog '{table.catalog}' does not exist")
            database = (table.db or db).lower()
            key = (database, name)
            if key not in bound:
                found = self.lookup(database, name)
                if found is None:
                    raise QueryError(
                        f"TABLE_NOT_FOUND: Table '{DEFAULT_CATALOG}.{database}.{name}' "
                        "does not exist"
                    )
                bound[key] = found
            table.set("catalog", None)
            table.set("db", exp.to_identifier(database, quoted=True))
            table.set("this", exp.to_identifier(name, quoted=True))
        named = {column.name.lower() for column in tree.find_all(exp.Column)}
        scanned, folders = 0, []
        for (database, name), glue in bound.items():
            conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{_ident(database)}"')
            prune = any(key.lower() in named for key in glue.partition_keys)
            view, size, folder = self._view_sql(glue, prune)
            conn.execute(f'CREATE VIEW "{_ident(database)}"."{_ident(name)}" AS {view}')
            scanned += size
            folders.append(folder)
        return scanned, folders

    def _view_sql(self, glue: GlueTable, prune: bool) -> tuple[str, int, Path]:
        """The view over ``glue``'s files, their bytes and the folder the query may read.

        A query that names a partition key reads the partition folders themselves, so
        DuckDB skips the ones its filter excludes; one that reads the whole table of a
        table whose files all have the same columns reads its compacted segments instead
        (one file per segment rather than one per event-time hour: compaction.py)."""
        folder = self.files(glue.location)
        files = list_parquet(folder) if folder.is_dir() else {}
        selected = ", ".join(
            f"CAST({'NULL' if not files else quoted(col)} AS {duckdb_type(hive)}) AS {quoted(col)}"
            for col, hive in glue.columns
        )
        if not files:  # an offline store nothing was written to yet: empty, not an error
            return f"SELECT {selected} WHERE false", 0, folder
        hive_types = ", ".join(f"'{_ident(k)}': 'VARCHAR'" for k in glue.partition_keys)
        options = ", hive_partitioning = true" + (
            f", hive_types = {{{hive_types}}}" if hive_types else ""
        )
        done = (
            self.compactor.segments(
                f"{glue.database}.{glue.name}",
                folder,
                f"SELECT {selected} FROM {{source}}",  # noqa: S608  # nosec B608  # names quoted
                glue.partition_keys,
            )
            if self.compactor is not None and glue.same_schema and not prune
            else None
        )
        if done is not None:
            listed = ", ".join(_literal(str(p)) for p in done.segments)
            names = ", ".join(quoted(col) for col, _ in glue.columns)
            view = f"SELECT {names} FROM read_parquet([{listed}])"  # noqa: S608  # nosec B608
            return view, done.source_bytes, done.segments[0].parent
        glob = str(folder / "**" / "*.parquet")
        # union_by_name reads every file's schema when the query is bound, which also
        # defeats partition pruning: only for tables whose columns changed over time
        union = "" if glue.same_schema else ", union_by_name = true"
        source = f"read_parquet({_literal(glob)}{options}{union})"
        view = f"SELECT {selected} FROM {source}"  # noqa: S608  # nosec B608  # names quoted, paths escaped
        return view, sum(size for size, _ in files.values()), folder


def _lock_down(conn: duckdb.DuckDBPyConnection, folders: list[Path]) -> None:
    """The query may read the bound tables' folders and nothing else: DuckDB's file functions
    (``read_text('/etc/passwd')``, ``COPY``) are refused, and the setting cannot be undone."""
    allowed = ", ".join("'" + (str(f.resolve()) + "/").replace("'", "''") + "'" for f in folders)
    conn.execute(f"SET allowed_directories = [{allowed}]")
    conn.execute("SET enable_external_access = false")
    conn.execute("SET lock_configuration = true")


def _parse(sql: str) -> Any:
    if not sql.strip():
        raise QueryError("line 1:1: the query is empty")
    try:
        statements = sqlglot.parse(sql, read="trino")
    except sqlglot.errors.ParseError as error:
        first = error.errors[0] if error.errors else {}
        where = f"line {first.get('line', 1)}:{first.get('col', 1)}: " if first else ""
        raise QueryError(f"{where}{first.get('description', 'syntax error')}") from None
    except sqlglot.errors.SqlglotError as error:
        raise QueryError(f"line 1:1: {error}") from None
    statements = [s for s in statements if s is not None]
    if len(statements) != 1:
        raise QueryError("Only one sql statement is allowed")
    tree = statements[0]
    if not isinstance(tree, (exp.Query, exp.Values)):
        raise QueryError(
            "NOT_SUPPORTED: the local engine runs queries only, not "
            f"{getattr(tree, 'key', 'this statement').upper()}"
        )
    return tree


def duckdb_type(hive: str) -> str:
    hive = hive.strip().lower()
    if hive.startswith("array<") and hive.endswith(">"):
        return duckdb_type(hive[6:-1]) + "[]"
    if hive.startswith(("decimal", "varchar", "char")):
        return hive.upper() if hive.startswith("decimal") else "VARCHAR"
    return HIVE_TO_DUCKDB.get(hive, "VARCHAR")


def _ident(name: str) -> str:
    return name.replace('"', '""')


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _duckdb_reason(error: duckdb.Error) -> str:
    """DuckDB's message without its own prefix noise, first line only."""
    message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return f"{type(error).__name__.replace('Exception', '').upper() or 'ERROR'}: {message}"
