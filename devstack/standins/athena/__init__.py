"""A local Athena: its API on loopback, queries on DuckDB, tables from moto's Glue."""
