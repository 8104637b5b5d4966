"""The shared stream-ingestion pipeline: decode → validate → transform → write.

Each record is written with PutRecord's semantics, as one entry of a ``BatchWriteRecord``
call (:mod:`featurestream.ingest.store_writer`). Each Kinesis record ends in exactly one of three
outcomes:

* **written**: its entry was accepted (the Feature Store keeps the newest event time online, so a
  late or duplicate event changes nothing online);
* **quarantined**: the record can never be processed (not JSON, wrong schema, impossible
  values, wrong event type for this stream, a partition key other than its customer id, a
  time outside the accepted window); sent to the quarantine queue with its payload and
  reason, and counted as done so it never blocks the shard;
* **failed**: anything transient (throttling, 5xx, timeouts after botocore's retries, a
  quarantine send that failed) or a store rejection of a valid event (a bug or configuration
  error, see :mod:`featurestream.aws.store_errors`); reported in ``batchItemFailures`` so Lambda
  redelivers it. Never quarantined: only the event's own fault leads there.

Records are prepared on the invoking thread while the writer's calls are in flight; records
of different customers are written concurrently, records of one customer in sequence order.
"""

import binascii
import logging
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Final

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.kinesis_stream_event import (
    KinesisStreamRecord,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from featurestream.aws.clients import client_config, create_client
from featurestream.aws.container import PerContainer
from featurestream.aws.observability import logger, metrics, publish_values
from featurestream.aws.store_errors import StoreError, make_runtime_client
from featurestream.contract.aggregates import Contribution, contribution_of
from featurestream.contract.catalog import (
    CUSTOMER_ORDER_STATS,
    CUSTOMERS,
    ORDERS,
    FeatureGroupSpec,
)
from featurestream.contract.events import (
    CUSTOMER_EVENT_TYPES,
    ORDER_EVENT_TYPES,
    CustomerEvent,
    EventTimeWindow,
    InvalidEvent,
    OrderEvent,
    parse_event,
)
from featurestream.contract.params import FittedParams, load_params
from featurestream.contract.transforms import features_for, to_record
from featurestream.ingest.aggregate_state import AggregateState, Prefetch, dedupe_ttl_seconds
from featurestream.ingest.order_stats import OrderStatsKeeper
from featurestream.ingest.quarantine import (
    Quarantine,
    QuarantinedRecord,
    QuarantineUnavailable,
    make_sqs_client,
)
from featurestream.ingest.record_batch import WholeBatchProcessor
from featurestream.ingest.settings import Settings
from featurestream.ingest.store_writer import Deferred, Record, StoreWriter
from featurestream.monitoring.stream_metrics import StreamMonitor


@dataclass(frozen=True)
class StreamKind:
    """What one stream carries: its name, the event types it accepts, the group it feeds."""

    name: str
    accepts: tuple[str, ...]
    feature_group: FeatureGroupSpec


CUSTOMER_STREAM: Final = StreamKind("customer-events", CUSTOMER_EVENT_TYPES, CUSTOMERS)
ORDER_STREAM: Final = StreamKind("order-events", ORDER_EVENT_TYPES, ORDERS)


PARTITION_KEY_MISMATCH: Final = (
    "partition key differs from data.customer_id: a customer's events must share one "
    "partition key to be processed in order"
)


class Outcome(StrEnum):
    WRITTEN = "written"
    QUARANTINED = "quarantined"


@dataclass(frozen=True)
class Decoded:
    """A record's payload and either its valid event or why it is invalid."""

    payload: bytes
    event: CustomerEvent | OrderEvent | None = None
    reason: str | None = None


@dataclass(frozen=True)
class RecordResult:
    """A successful record's outcome (a failed record's outcome is its exception)."""

    outcome: Outcome
    put_latency_ms: float | None = None


RecordOutcome = RecordResult | BaseException


def decode(
    record: KinesisStreamRecord, kind: StreamKind, window: EventTimeWindow, now: datetime
) -> Decoded:
    """Base64 → bytes → validated event of a type this stream carries, keyed by its customer
    and dated inside ``window`` at processing time ``now``; or the reason not."""
    try:
        payload = record.kinesis.data_as_bytes()
    except (binascii.Error, ValueError):
        return Decoded(record.kinesis.data.encode(), reason="record data is not valid base64")
    try:
        event = parse_event(payload)
    except InvalidEvent as invalid:
        return Decoded(payload, reason=invalid.reason)
    if event.event_type not in kind.accepts:
        return Decoded(
            payload,
            reason=f"event type {event.event_type} does not belong on the {kind.name} stream",
        )
    if record.kinesis.partition_key != event.customer_id:
        return Decoded(payload, reason=PARTITION_KEY_MISMATCH)
    outside = window.violation(event, now)
    if outside is not None:
        return Decoded(payload, reason=outside)
    return Decoded(payload, event=event)


def _arrival(record: KinesisStreamRecord) -> float | None:
    """The record's Kinesis arrival time (epoch seconds), if the event carries one."""
    arrival = record.kinesis.get("approximateArrivalTimestamp")
    return float(arrival) if isinstance(arrival, int | float) else None


def _contributions(events: dict[int, CustomerEvent | OrderEvent]) -> list[Contribution]:
    return [contribution_of(e) for e in events.values() if isinstance(e, OrderEvent)]


def _measure_stats(
    keeper: OrderStatsKeeper,
    records: list[KinesisStreamRecord],
    events: dict[int, CustomerEvent | OrderEvent],
    outcomes: list[RecordOutcome | None],
) -> None:
    """The stats group's batch figures: freshness per order whose aggregate was written
    (its event time and Kinesis arrival to the aggregate's acknowledgement), violations per
    aggregate record."""
    acknowledged_at = time.time()
    counted = [i for i, e in events.items() if isinstance(outcomes[i], RecordResult)]
    customers = {events[i].customer_id for i in counted}
    if keeper.monitor is not None:
        keeper.monitor.measure(
            [events[i].event_time for i in counted],
            [_arrival(records[i]) for i in counted],
            [keeper.violated.get(customer, ()) for customer in customers],
            acknowledged_at,
        )


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Ingestor:
    """One stream's pipeline; built once per container and reused by every invocation."""

    def __init__(
        self,
        kind: StreamKind,
        *,
        writer: StoreWriter,
        quarantine: Quarantine,
        params: FittedParams,
        executor: ThreadPoolExecutor,
        window: EventTimeWindow,
        clock: Callable[[], datetime] = _utcnow,
        function_name: str | None = None,
        order_stats: OrderStatsKeeper | None = None,
        monitor: StreamMonitor | None = None,
    ) -> None:
        self.kind = kind
        self._order_stats = order_stats
        self._monitor = monitor
        self._writer = writer
        self._quarantine = quarantine
        self._params = params
        self._window = window
        self._clock = clock
        self._function_name = function_name
        self._executor = executor
        self._processor = WholeBatchProcessor()
        self._as_of = clock()

    def close(self) -> None:
        """Stop the pool (tests and ``reset()``; a Lambda container just ends)."""
        self._executor.shutdown(wait=True)

    def process(
        self, event: dict[str, Any], context: LambdaContext | None = None
    ) -> PartialItemFailureResponse:
        """Process one Lambda Kinesis event; returns the partial-batch response.

        If every record failed, Powertools raises ``BatchProcessingError`` (a function
        error), so Lambda retries or bisects the whole batch.
        """
        records: list[dict[str, Any]] = event.get("Records") or []
        self._as_of = self._clock()
        outcomes: list[RecordOutcome] = []

        def handle_batch(batch: list[KinesisStreamRecord]) -> list[RecordOutcome]:
            outcomes.extend(self._handle_batch(batch))
            return outcomes

        try:
            with self._processor(records, handle_batch, context):
                self._processor.process()
        finally:
            self._report(records, outcomes)
        return self._processor.response()

    def _handle_batch(self, records: list[KinesisStreamRecord]) -> list[RecordOutcome]:
        """Every record's outcome: invalid ones go to the quarantine (on the executor) while
        the valid ones are transformed and handed to the writer as they are ready."""
        outcomes: list[RecordOutcome | None] = [None] * len(records)
        events: dict[int, CustomerEvent | OrderEvent] = {}
        violated: dict[int, tuple[str, ...]] = {}
        quarantining: list[tuple[int, Future[RecordResult]]] = []
        prefetched: list[Prefetch] = []

        def writes() -> Iterator[tuple[int, Record]]:
            for index, record in enumerate(records):
                try:
                    decoded = decode(record, self.kind, self._window, self._as_of)
                    if decoded.event is None:
                        job = self._executor.submit(self._send_to_quarantine, record, decoded)
                        quarantining.append((index, job))
                        continue
                    events[index] = event = decoded.event
                    # an event inside the skew, dated after the processing time, is as of
                    # its own time: tenure and recency are never negative
                    as_of = max(self._as_of, event.event_time)
                    _, features = features_for(event, params=self._params, as_of=as_of)
                    prepared = to_record(features)
                    if self._monitor is not None:
                        violated[index] = self._monitor.violated(features)
                except Exception as error:  # a bug for this record only: it fails, the rest go on
                    outcomes[index] = error
                    continue
                yield index, prepared
            if self._order_stats is not None:  # the state is read while the last writes fly
                prefetched.append(self._order_stats.prefetch(_contributions(events)))

        for index, written in self._writer.write_all(writes()).items():
            outcomes[index] = self._written(records[index], events[index], written)
        acknowledged_at = time.time()
        if self._order_stats is not None:
            first_read = prefetched[0] if prefetched else None
            self._keep_order_stats(self._order_stats, records, events, outcomes, first_read)
            if self._order_stats.monitor is not None:
                _measure_stats(self._order_stats, records, events, outcomes)
        if self._monitor is not None:
            done = [i for i in events if isinstance(outcomes[i], RecordResult)]
            self._monitor.measure(
                [events[i].event_time for i in done],
                [_arrival(records[i]) for i in done],
                [violated[i] for i in done],
                acknowledged_at,
            )
        for index, job in quarantining:
            try:
                outcomes[index] = job.result()
            except Exception as error:  # QuarantineUnavailable, or a bug: this record fails
                outcomes[index] = error
        return [
            RuntimeError("no outcome for this record") if outcome is None else outcome
            for outcome in outcomes
        ]

    def _keep_order_stats(
        self,
        keeper: OrderStatsKeeper,
        records: list[KinesisStreamRecord],
        events: dict[int, CustomerEvent | OrderEvent],
        outcomes: list[RecordOutcome | None],
        prefetched: Prefetch | None = None,
    ) -> None:
        """The written orders count into their customers' aggregates; a record whose
        aggregate could not be kept fails (redelivery counts it at most once). Only written
        orders count: ``prefetched`` (the state of every valid order, read while they were
        being written) only informs the first round's transactions."""
        counted = [
            (index, event)
            for index, event in sorted(events.items())
            if isinstance(event, OrderEvent) and isinstance(outcomes[index], RecordResult)
        ]
        try:
            kept = keeper.keep([contribution_of(event) for _, event in counted], prefetched)
        except Exception as error:  # a bug: every counted record fails with it
            kept = {event.customer_id: error for _, event in counted}
        for index, event in counted:
            outcome = kept.get(event.customer_id)
            if isinstance(outcome, BaseException):
                outcomes[index] = self._written(records[index], event, outcome)

    def _written(
        self,
        record: KinesisStreamRecord,
        event: CustomerEvent | OrderEvent,
        written: float | BaseException,
    ) -> RecordOutcome:
        """A write's outcome as the record's, logged with the event id as correlation id."""
        if isinstance(written, StoreError):
            log = logger.warning if written.transient else logger.error
            log(
                "store write failed; record reported for redelivery",
                correlation_id=event.event_id,
                event_type=event.event_type,
                sequence_number=record.kinesis.sequence_number,
                error_code=written.code,
                transient=written.transient,
            )
            return written
        if isinstance(written, BaseException):
            return written
        if logger.log_level <= logging.DEBUG:
            logger.debug(
                "record written",
                correlation_id=event.event_id,
                event_type=event.event_type,
                sequence_number=record.kinesis.sequence_number,
            )
        return RecordResult(Outcome.WRITTEN, written)

    def _send_to_quarantine(self, record: KinesisStreamRecord, decoded: Decoded) -> RecordResult:
        kinesis = record.kinesis
        reason = decoded.reason or "invalid event"
        entry = QuarantinedRecord(
            reason=reason,
            payload=decoded.payload,
            stream_arn=record.event_source_arn or "",
            shard_id=record.event_id.split(":", 1)[0] if record.event_id else "",
            sequence_number=kinesis.sequence_number,
            partition_key=kinesis.partition_key,
            approximate_arrival_timestamp=kinesis.approximate_arrival_timestamp,
            function_name=self._function_name,
        )
        try:
            self._quarantine.send(entry)
        except QuarantineUnavailable as error:
            logger.warning(
                "quarantine send failed; record reported for redelivery",
                sequence_number=kinesis.sequence_number,
                error=str(error),
            )
            raise
        logger.warning(
            "invalid record quarantined",
            sequence_number=kinesis.sequence_number,
            shard_id=entry.shard_id,
            reason=reason,
        )
        return RecordResult(Outcome.QUARANTINED)

    def _report(self, records: list[dict[str, Any]], outcomes: list[RecordOutcome]) -> None:
        """Metrics and one summary log line per batch, from the main thread."""
        counts = {"written": 0, "quarantined": 0, "failed": 0, "deferred": 0}
        latencies: list[float] = []
        for outcome in outcomes:
            if isinstance(outcome, RecordResult):
                counts[outcome.outcome.value] += 1
                if outcome.put_latency_ms is not None:
                    latencies.append(round(outcome.put_latency_ms, 3))
            elif isinstance(outcome, Deferred):
                counts["deferred"] += 1
            else:
                counts["failed"] += 1
        now = time.time()
        in_stream = [
            max(0.0, round((now - arrival) * 1000, 3))
            for raw in records
            if isinstance(
                arrival := raw.get("kinesis", {}).get("approximateArrivalTimestamp"), int | float
            )
        ]
        publish_values(
            {
                "PutRecordLatency": (MetricUnit.Milliseconds, latencies),
                "TimeInStream": (MetricUnit.Milliseconds, in_stream),
            }
        )
        metrics.add_metric(name="RecordsProcessed", unit=MetricUnit.Count, value=counts["written"])
        metrics.add_metric(
            name="RecordsQuarantined", unit=MetricUnit.Count, value=counts["quarantined"]
        )
        metrics.add_metric(name="RecordsFailed", unit=MetricUnit.Count, value=counts["failed"])
        metrics.add_metric(name="RecordsDeferred", unit=MetricUnit.Count, value=counts["deferred"])
        logger.info(
            "batch processed",
            extra={
                "stream": self.kind.name,
                "records": len(records),
                "transform_version": self._params.version,
                **counts,
            },
        )


class IngestApp:
    """A stream handler's state: its :class:`Ingestor`, built once per container."""

    def __init__(self, kind: StreamKind) -> None:
        self.kind = kind
        self._state = PerContainer(
            lambda: build_ingestor(kind, Settings.from_env()), close=Ingestor.close
        )

    @property
    def ingestor(self) -> Ingestor:
        return self._state.get()

    def __call__(
        self, event: dict[str, Any], context: LambdaContext | None = None
    ) -> PartialItemFailureResponse:
        return self.ingestor.process(event, context)

    def reset(self) -> None:
        self._state.reset()


def build_ingestor(kind: StreamKind, settings: Settings) -> Ingestor:
    """Clients, pool and parameters for one stream, from the settings."""
    pool = settings.put_concurrency
    store_client = make_runtime_client(
        client_config(
            pool_size=pool,
            max_attempts=settings.store_max_attempts,
            retry_mode=settings.store_retry_mode,
            connect_timeout=settings.store_connect_timeout,
            read_timeout=settings.store_read_timeout,
        )
    )
    sqs_client = make_sqs_client(pool_size=pool, max_attempts=settings.queue_max_attempts)
    executor = ThreadPoolExecutor(max_workers=pool, thread_name_prefix=f"{kind.name}-call")
    writer = StoreWriter(
        store_client,
        settings.feature_group_name,
        record_identifier=kind.feature_group.record_identifier,
        executor=executor,
        concurrency=pool,
        batch_size=settings.store_batch_size,
        linger_ms=settings.store_batch_linger_ms,
    )
    params = load_params()
    return Ingestor(
        kind,
        writer=writer,
        quarantine=Quarantine(sqs_client, settings.quarantine_queue_url),
        params=params,
        executor=executor,
        window=EventTimeWindow(
            settings.event_time_not_before, settings.event_time_max_skew_seconds
        ),
        function_name=os.environ.get("AWS_LAMBDA_FUNCTION_NAME"),
        order_stats=build_order_stats(kind, settings, store_client, executor, params),
        monitor=StreamMonitor(kind.feature_group) if settings.monitoring else None,
    )


def build_order_stats(
    kind: StreamKind,
    settings: Settings,
    store_client: Any,
    executor: ThreadPoolExecutor,
    params: FittedParams,
) -> OrderStatsKeeper | None:
    """The aggregate keeper of the order stream, when the deployment names its table."""
    table, group = settings.aggregate_state_table, settings.stats_feature_group_name
    if kind is not ORDER_STREAM or table is None or group is None:
        return None
    pool = settings.put_concurrency
    dynamodb = create_client(
        "dynamodb",
        client_config(
            pool_size=pool,
            max_attempts=settings.store_max_attempts,
            retry_mode=settings.store_retry_mode,
            connect_timeout=settings.store_connect_timeout,
            read_timeout=settings.store_read_timeout,
        ),
    )
    state = AggregateState(
        dynamodb,
        table,
        executor=executor,
        dedupe_ttl_seconds=dedupe_ttl_seconds(
            settings.stream_retention_hours, settings.producer_resend_window_hours
        ),
        clock=time.time,
    )
    writer = StoreWriter(
        store_client,
        group,
        record_identifier=CUSTOMER_ORDER_STATS.record_identifier,
        executor=executor,
        concurrency=pool,
        batch_size=settings.store_batch_size,
        linger_ms=settings.store_batch_linger_ms,
    )
    monitor = StreamMonitor(CUSTOMER_ORDER_STATS) if settings.monitoring else None
    return OrderStatsKeeper(state, writer, params, monitor)
