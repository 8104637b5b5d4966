"""The library the Lambdas share: contract, ingest, serving, governance and aws rooms
(docs/architecture.md)."""
