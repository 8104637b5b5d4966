"""The offline store through Athena's API: run a query (start, poll, page, typed rows),
name the Glue tables of the feature groups, and the built-in views over them.

botocore only (no pandas, no DuckDB): a scheduled Lambda can import it. Locally the same
calls reach the Athena stand-in through ``AWS_ENDPOINT_URL_ATHENA``.
"""
