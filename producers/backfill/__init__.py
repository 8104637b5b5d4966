"""``featurestream backfill``: history straight into the Feature Store, without the streams.

:mod:`~producers.backfill.plan` computes the entries (the library's transforms, the stream
functions' ``as_of`` rule), :mod:`~producers.backfill.writer` sends them with
BatchWriteRecord, :mod:`~producers.backfill.run` chunks, checkpoints and keeps failures,
:mod:`~producers.backfill.groups` checks the target groups first. docs/backfill.md says
when to use it instead of a replay or a Spark job.
"""

from producers.backfill.run import BackfillOptions, BackfillSummary, Clients, run_backfill

__all__ = ["BackfillOptions", "BackfillSummary", "Clients", "run_backfill"]
