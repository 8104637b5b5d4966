"""A lane: one concurrent sequence of batches of a shard (ParallelizationFactor lanes per shard).

Records of one partition key always land in the same lane, so per-key order holds while
lanes run concurrently. A lane owns its records until they are checkpointed (success) or
discarded (to the on-failure destination): a failing batch blocks its lane only, and is
retried (or bisected) before anything newer of that lane is invoked.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from typing import Any, Protocol

from devstack.standins.trigger.batching import batch_ready, take_batch
from devstack.standins.trigger.config import EventSourceMapping
from devstack.standins.trigger.destination import (
    RECORD_AGE_EXCEEDED,
    RETRY_ATTEMPTS_EXHAUSTED,
    Condition,
    SqsDestination,
    failure_message,
)
from devstack.standins.trigger.policy import Batch, expired_prefix, judge, plan
from devstack.standins.trigger.pool import InvokeResult
from devstack.standins.trigger.records import StreamRecord, build_event
from devstack.standins.trigger.stats import ShardStats

log = logging.getLogger(__name__)


class Invoker(Protocol):
    def invoke(self, event: dict[str, Any]) -> InvokeResult: ...


class Lane:
    """Batches, invokes and retries the records of one lane of one shard."""

    def __init__(
        self,
        mapping: EventSourceMapping,
        invoker: Invoker,
        destination: SqsDestination | None,
        stats: ShardStats,
        *,
        retry_backoff: float = 0.05,
    ) -> None:
        self.mapping = mapping
        self.invoker = invoker
        self.destination = destination
        self.stats = stats
        self.retry_backoff = retry_backoff
        self.pending: deque[StreamRecord] = deque()
        self.retries: deque[Batch] = deque()
        self.in_flight: Batch | None = None
        self._cond = threading.Condition()
        self._stopping = threading.Event()

    # -- fed by the shard poller ---------------------------------------------------------------

    def offer(self, records: list[StreamRecord]) -> None:
        with self._cond:
            self.pending.extend(records)
            self._cond.notify()

    def size(self) -> int:
        """Records this lane holds that are not yet checkpointed."""
        with self._cond:
            held = len(self.pending) + sum(len(b.records) for b in self.retries)
            return held + (len(self.in_flight.records) if self.in_flight else 0)

    def oldest_arrival(self) -> float | None:
        with self._cond:
            heads = [b.records[0].arrival for b in (self.in_flight, *self.retries) if b]
            if self.pending:
                heads.append(self.pending[0].arrival)
        return min(heads) if heads else None

    def stop(self) -> None:
        """Finish the invocation in flight, then return from :meth:`run`."""
        self._stopping.set()
        with self._cond:
            self._cond.notify_all()

    # -- the loop --------------------------------------------------------------------------

    def run(self) -> None:
        while (batch := self._next_batch()) is not None:
            try:
                self._process(batch)
            finally:
                with self._cond:
                    self.in_flight = None

    def _next_batch(self) -> Batch | None:
        mapping = self.mapping
        with self._cond:
            while not self._stopping.is_set():
                if self.retries:
                    self.in_flight = self.retries.popleft()
                    return self.in_flight
                now = time.monotonic()
                if batch_ready(
                    self.pending,
                    batch_size=mapping.batch_size,
                    window=mapping.batching_window,
                    now=now,
                ):
                    records = take_batch(self.pending, mapping.batch_size)
                    for _ in records:
                        self.pending.popleft()
                    self.in_flight = Batch(records)
                    return self.in_flight
                wait = 1.0
                if self.pending:
                    wait = max(0.005, mapping.batching_window - (now - self.pending[0].seen))
                self._cond.wait(wait)
        return None

    def _process(self, batch: Batch) -> None:
        mapping = self.mapping
        expired = expired_prefix(batch.records, mapping.maximum_record_age, time.time())
        if expired:
            old = Batch(batch.records[:expired], batch.attempts, batch.invocations)
            self._discard(old, RECORD_AGE_EXCEEDED, function_error=None)
            self.stats.add(records_expired=expired)
            batch.records = batch.records[expired:]
            if not batch.records:
                return
        if batch.attempts or batch.invocations:
            self.stats.add(retries=1)
        if batch.attempts and self._stopping.wait(
            min(2.0, self.retry_backoff * 2 ** (batch.attempts - 1))
        ):
            return
        event = build_event(
            batch.records,
            stream_arn=mapping.stream_arn,
            region=mapping.region,
            role_arn=mapping.role_arn,
        )
        result = self.invoker.invoke(event)
        batch.invocations += 1
        verdict = judge(
            result, batch.records, report_batch_item_failures=mapping.report_batch_item_failures
        )
        self.stats.add(
            batches_invoked=1,
            function_errors=int(verdict.function_error),
            partial_failures=int(verdict.kind == "partial"),
            invalid_responses=int(verdict.kind == "failure" and not verdict.function_error),
        )
        step = plan(
            batch,
            verdict,
            bisect=mapping.bisect_on_error,
            maximum_retry_attempts=mapping.maximum_retry_attempts,
        )
        if step.done:
            self.stats.add(records_processed=step.done, pending=-step.done)
        if step.bisected:
            self.stats.add(bisections=1)
        if step.discard is not None:
            self._discard(
                step.discard,
                RETRY_ATTEMPTS_EXHAUSTED,
                function_error="Unhandled" if verdict.function_error else None,
            )
        if step.retry:
            with self._cond:
                self.retries.extendleft(reversed(step.retry))

    def _discard(self, batch: Batch, condition: Condition, function_error: str | None) -> None:
        """Give up on a batch: its positions go to the on-failure destination (if any)."""
        records = batch.records
        log.warning(
            "%s %s: giving up on %d record(s) %s..%s (%s)",
            self.mapping.function_name,
            records[0].shard_id,
            len(records),
            records[0].sequence_number,
            records[-1].sequence_number,
            condition,
        )
        if self.destination is not None:
            self.destination.send(
                failure_message(
                    records,
                    stream_arn=self.mapping.stream_arn,
                    function_arn=self.mapping.function_arn,
                    condition=condition,
                    invoke_count=batch.invocations,
                    function_error=function_error,
                )
            )
        self.stats.add(
            records_to_on_failure=len(records), batches_to_on_failure=1, pending=-len(records)
        )
