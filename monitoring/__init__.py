"""Monitoring that does not run in the stream Lambdas: freshness summaries from EMF logs,
and feature drift between two windows of the offline store."""
