"""One shard of one mapping: a poller thread feeding ParallelizationFactor lane threads."""

from __future__ import annotations

import logging
import threading
import time

from devstack.stack.process import describe_error
from devstack.standins.trigger.batching import lane_for
from devstack.standins.trigger.config import EventSourceMapping
from devstack.standins.trigger.destination import SqsDestination
from devstack.standins.trigger.lane import Invoker, Lane
from devstack.standins.trigger.records import StreamRecord
from devstack.standins.trigger.shard_reader import ShardReader
from devstack.standins.trigger.stats import ShardStats

log = logging.getLogger(__name__)


class ShardConsumer:
    """Polls a shard and runs its lanes.

    Like Lambda's poller it reads again at once while the shard reports being behind
    (``MillisBehindLatest`` > 0, pages full of backlog) and otherwise waits
    ``poll_interval``: a page with the newest records, or none, means the next read would
    return only what arrived in between (during a replay a handful of records per call, which
    made GetRecords calls, not records, the poller's and moto's main cost).

    Reading pauses while the lanes hold ``max_pending`` records, so a slow or failing
    function does not make the runner buffer the whole stream in memory.
    """

    def __init__(
        self,
        mapping: EventSourceMapping,
        reader: ShardReader,
        invoker: Invoker,
        destination: SqsDestination | None,
        *,
        poll_interval: float,
        max_pending: int,
        retry_backoff: float,
    ) -> None:
        self.mapping = mapping
        self.reader = reader
        self.poll_interval = poll_interval
        self.max_pending = max(max_pending, mapping.batch_size)
        self.stats = ShardStats(reader.shard_id)
        self.lanes = [
            Lane(mapping, invoker, destination, self.stats, retry_backoff=retry_backoff)
            for _ in range(max(1, mapping.parallelization_factor))
        ]
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        name = f"{self.mapping.function_name}/{self.reader.shard_id}"
        self._threads = [
            threading.Thread(target=self._poll, name=f"poll {name}", daemon=True),
            *(
                threading.Thread(target=lane.run, name=f"lane{i} {name}", daemon=True)
                for i, lane in enumerate(self.lanes)
            ),
        ]
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stopping.set()
        for lane in self.lanes:
            lane.stop()

    def join(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def held(self) -> int:
        return sum(lane.size() for lane in self.lanes)

    def snapshot(self) -> dict[str, object]:
        arrivals = [a for lane in self.lanes if (a := lane.oldest_arrival()) is not None]
        with self.stats.lock:
            self.stats.oldest_pending_arrival = min(arrivals) if arrivals else None
        return self.stats.snapshot()

    def _distribute(self, records: list[StreamRecord]) -> None:
        lanes = len(self.lanes)
        if lanes == 1:
            self.lanes[0].offer(records)
            return
        split: list[list[StreamRecord]] = [[] for _ in range(lanes)]
        for record in records:
            split[lane_for(record.partition_key, lanes)].append(record)
        for lane, part in zip(self.lanes, split, strict=True):
            if part:
                lane.offer(part)

    def _poll(self) -> None:
        while not self._stopping.is_set():
            if self.held() >= self.max_pending:
                self._stopping.wait(0.02)
                continue
            started = time.time()
            try:
                records, behind = self.reader.read()
            except Exception as error:  # keep polling (botocore already retried); status shows it
                self.stats.read_failed(error, started)
                log.error(
                    "%s %s: GetRecords failed (%s)",
                    self.mapping.stream_name,
                    self.reader.shard_id,
                    describe_error(error),
                )
                self._stopping.wait(self.poll_interval)
                continue
            with self.stats.lock:
                self.stats.consecutive_read_errors = 0
                self.stats.records_read += len(records)
                self.stats.pending += len(records)
                self.stats.millis_behind_latest = behind
                self.stats.last_poll = started
                self.stats.polls_since_read = 0 if records else self.stats.polls_since_read + 1
                self.stats.last_read_sequence_number = self.reader.last_sequence_number
                self.stats.closed = self.reader.closed
            if records:
                self._distribute(records)
            if self.reader.closed:
                return
            if not records or not behind:
                self._stopping.wait(self.poll_interval)
