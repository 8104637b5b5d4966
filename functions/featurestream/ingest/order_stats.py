"""The order function's second output: each customer's customer-order-stats record.

After an invocation's orders are written to the ``orders`` group, the orders that were
written contribute to their customers' aggregates (:mod:`featurestream.ingest.aggregate_state`)
and each touched customer's aggregate is written to the ``customer-order-stats`` group,
through its own :class:`~featurestream.ingest.store_writer.StoreWriter` (one record per
customer, so up to 25 customers per BatchWriteRecord call). A customer's record goes to the
writer as soon as the transaction that counted its orders committed, while the next
transactions are still in flight.

A customer whose aggregate is already up to date (every order of the batch was counted
before: a redelivery) gets its current aggregate written again, with its stored event time:
the earlier invocation may have counted the orders and then failed before its write reached
the store. Rewriting the same record with the same event time changes nothing if it did.
"""

from collections.abc import Iterator, Sequence

from featurestream.contract.aggregates import Contribution, stats_features
from featurestream.contract.params import FittedParams
from featurestream.contract.transforms import to_record
from featurestream.ingest.aggregate_state import AggregateState, Prefetch
from featurestream.ingest.store_writer import Record, StoreWriter, WriteOutcome
from featurestream.monitoring.stream_metrics import StreamMonitor


class OrderStatsKeeper:
    """Counts orders into the state table and writes the resulting aggregates."""

    def __init__(
        self,
        state: AggregateState,
        writer: StoreWriter,
        params: FittedParams,
        monitor: StreamMonitor | None = None,
    ) -> None:
        self.state = state
        self.writer = writer
        self._params = params
        self.monitor = monitor
        """The stats group's monitor (None: monitoring off); the pipeline publishes its batch."""
        self.violated: dict[str, tuple[str, ...]] = {}
        """The last ``keep``'s rule violations per customer whose aggregate was prepared."""

    def prefetch(self, contributions: Sequence[Contribution]) -> Prefetch:
        """Start reading these orders' state now (see :meth:`AggregateState.prefetch`)."""
        return self.state.prefetch(contributions)

    def keep(
        self, contributions: Sequence[Contribution], prefetched: Prefetch | None = None
    ) -> dict[str, WriteOutcome]:
        """Per customer: the aggregate write's latency in ms, or why it failed (its orders'
        records then fail and are redelivered). ``prefetched``: a read of a superset of
        these orders started earlier."""
        self.violated = {}
        if not contributions:
            return {}
        customers: list[str] = []
        outcomes: dict[str, WriteOutcome] = {}

        def records() -> Iterator[tuple[int, Record]]:
            """Each customer's record as soon as its aggregate is known: the writer sends
            them while the state's next transactions are still in flight."""
            for customer, aggregate in self.state.outcomes(contributions, prefetched):
                if isinstance(aggregate, BaseException):
                    outcomes[customer] = aggregate
                    continue
                features = stats_features(
                    aggregate.stats, event_time=aggregate.event_time, params=self._params
                )
                if self.monitor is not None:
                    self.violated[customer] = self.monitor.violated(features)
                customers.append(customer)
                yield len(customers) - 1, to_record(features)

        for index, written in self.writer.write_all(records()).items():
            outcomes[customers[index]] = written
        return outcomes
