"""A Powertools ``BatchProcessor`` whose handler takes the whole Kinesis batch at once.

Why: Powertools' ``BatchProcessor`` hands the record handler one record at a time and waits
for it, and ``AsyncBatchProcessor`` runs every record at once, losing per-customer order.
The stream handlers need neither: they write a batch's records together, in order per
customer (:mod:`featurestream.ingest.store_writer`). So only ``process()`` is replaced: the handler
gets every record and returns one outcome per record, a result or the exception it failed
with. Record conversion, success/failure bookkeeping, the ``batchItemFailures`` response and
the whole-batch-failure rule stay Powertools'.
"""

from collections.abc import Callable, Sequence
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.data_classes.kinesis_stream_event import (
    KinesisStreamRecord,
)

BatchHandler = Callable[[list[KinesisStreamRecord]], Sequence[Any]]
"""Records in, one outcome per record out (in the same order); an exception means failed."""


class WholeBatchProcessor(BatchProcessor):
    """Kinesis batch processor that calls its handler once with every record."""

    def __init__(self) -> None:
        super().__init__(event_type=EventType.KinesisDataStreams)

    def process(self) -> list[tuple[Any, ...]]:
        """Run the batch handler; results come back in the batch's (sequence) order."""
        records = [KinesisStreamRecord(raw) for raw in self.records]
        handle_batch: BatchHandler = self.handler
        outcomes = handle_batch(records)
        return [
            self.failure_handler(record, (type(outcome), outcome, outcome.__traceback__))
            if isinstance(outcome, BaseException)
            else self.success_handler(record, outcome)
            for record, outcome in zip(records, outcomes, strict=True)
        ]
