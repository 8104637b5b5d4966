"""The order function's second output: each customer's customer-order-stats record.

After an invocation's orders are written to the ``orders`` group, the orders that were
written contribute to their customers' aggregates (:mod:`featurestream.ingest.aggregate_state`)
and each touched customer's aggregate is written to the ``customer-order-stats`` group,
through its own :class:`~featurestream.ingest.store_writer.StoreWriter` (one record per
customer, so up to 25 customers per BatchWriteRecord call).

A customer whose aggregate is already up to date (every order of the batch was counted
before: a redelivery) gets its current aggregate written again, with its stored event time:
the earlier invocation may have counted the orders and then failed before its write reached
the store. Rewriting the same record with the same event time changes nothing if it did.
"""

from collections.abc import Sequence

from featurestream.contract.aggregates import Contribution, stats_features
from featurestream.contract.params import FittedParams
from featurestream.contract.transforms import to_record
from featurestream.ingest.aggregate_state import AggregateState
from featurestream.ingest.store_writer import StoreWriter, WriteOutcome
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

    def keep(self, contributions: Sequence[Contribution]) -> dict[str, WriteOutcome]:
        """Per customer: the aggregate write's latency in ms, or why it failed (its orders'
        records then fail and are redelivered)."""
        self.violated = {}
        if not contributions:
            return {}
        aggregates = self.state.contribute(contributions)
        customers = list(aggregates)
        outcomes: dict[str, WriteOutcome] = {}
        records = []
        for index, customer in enumerate(customers):
            aggregate = aggregates[customer]
            if isinstance(aggregate, BaseException):
                outcomes[customer] = aggregate
                continue
            features = stats_features(
                aggregate.stats, event_time=aggregate.event_time, params=self._params
            )
            if self.monitor is not None:
                self.violated[customer] = self.monitor.violated(features)
            records.append((index, to_record(features)))
        for index, written in self.writer.write_all(records).items():
            outcomes[customers[index]] = written
        return outcomes
