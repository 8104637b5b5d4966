"""Writes one invocation's records through ``BatchWriteRecord``: up to 25 records per call,
several calls in flight, each record identifier's records in the order given.

Why hand-written: boto3 has no batching helper for the Feature Store runtime (its batch
writers are DynamoDB's: single-threaded buffers with no per-item outcome), Powertools batches
*input* records, not output calls, and no library schedules "in order per key, concurrent
across keys" with an outcome per record.

How: :meth:`StoreWriter.write_all` schedules from the invoking thread; only the calls run on
the executor. Each record identifier is a *lane* holding its records in the order given.
A lane's first record is *ready*; its next one becomes ready when that one is written. So
one customer's writes never overtake each other, and a call never holds two entries of one
identifier (per-entry ``Errors`` and ``UnprocessedEntries`` echo the entry, and the
identifier is what maps them back). Ready records go out in calls of ``batch_size``, at most
``concurrency`` calls in flight. A call with room left goes at once unless a call in flight
holds a record whose lane has more waiting; then it waits for that call at most ``linger``.
Records come from an iterator, so preparing the next ones (decode, validate, transform)
overlaps the calls in flight.

Why one scheduling thread and not a thread per lane: lane threads that each block on their
record's outcome cost two thread hand-offs and a lock round per record: more CPU than
decoding, transforming and botocore together (docs/operations.md has the figures).

A failed record defers its lane's later records (:class:`Deferred`): Lambda redelivers from
the lowest failed sequence number anyway, so writing them now would only make duplicates,
and deferring keeps the customer's writes in order.

Per record the semantics are PutRecord's (event-time gate, full replace), so each entry's
outcome is classified with the same rules as a PutRecord error (:func:`classify_code`).
"""

import random
import time
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Executor
from dataclasses import dataclass
from queue import Empty, SimpleQueue
from typing import Any, Final, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from featurestream.aws.resend import resend_unfinished
from featurestream.aws.store_errors import StoreError, TransientStoreError, classify, classify_code
from featurestream.ingest.settings import DEFAULT_STORE_BATCH_LINGER_MS

MAX_BATCH_SIZE: Final = 25
DEFAULT_UNPROCESSED_ATTEMPTS: Final = 3
_BACKOFF_BASE_S: Final = 0.025

Record = list[dict[str, str]]
WriteOutcome = float | BaseException
"""A record's outcome: its write latency in ms (ready to written), or why it failed."""


class Deferred(Exception):
    """Not attempted: an earlier record of the same lane failed in this invocation."""


class _BatchWriteClient(Protocol):
    def batch_write_record(self, **kwargs: Any) -> Any: ...


@dataclass(slots=True, eq=False)
class _Pending:
    """One record on its way: the caller's tag, its identifier, when it became ready."""

    tag: int
    key: str
    record: Record
    ready_at: float = 0.0


_Done = tuple[list[_Pending], list[WriteOutcome]]


class StoreWriter:
    """Writes records to one feature group; one ``write_all`` at a time per writer."""

    def __init__(
        self,
        client: _BatchWriteClient,
        feature_group_name: str,
        *,
        record_identifier: str,
        executor: Executor,
        concurrency: int,
        batch_size: int = MAX_BATCH_SIZE,
        linger_ms: float = DEFAULT_STORE_BATCH_LINGER_MS,
        unprocessed_attempts: int = DEFAULT_UNPROCESSED_ATTEMPTS,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not 1 <= batch_size <= MAX_BATCH_SIZE:
            raise ValueError(f"batch_size must be 1-{MAX_BATCH_SIZE}: {batch_size}")
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1: {concurrency}")
        self._client = client
        self.feature_group_name = feature_group_name
        self.record_identifier = record_identifier
        self._executor = executor
        self.concurrency = concurrency
        self.batch_size = batch_size
        self.linger_s = max(0.0, linger_ms) / 1000
        self._unprocessed_attempts = max(1, unprocessed_attempts)
        self._sleep = sleep
        self._rng = random.Random()  # noqa: S311  # nosec B311  # retry jitter, not crypto

    def write_all(self, records: Iterable[tuple[int, Record]]) -> dict[int, WriteOutcome]:
        """Write every ``(tag, record)``; returns each tag's outcome once all are known."""
        schedule = _Schedule(self)
        for tag, record in records:
            schedule.add(tag, record)
            schedule.send(partial=False)
            schedule.settle(timeout=0)
        while schedule.ready or schedule.in_flight:
            schedule.send(partial=False)
            if schedule.ready and schedule.in_flight < self.concurrency:
                left = schedule.linger_left()
                if left <= 0:
                    schedule.send(partial=True)
                    continue
                schedule.settle(timeout=left)
            else:
                schedule.settle(timeout=None)
        return schedule.outcomes

    def key_of(self, record: Record) -> str:
        """The record's identifier value (its lane)."""
        for feature in record:
            if feature.get("FeatureName") == self.record_identifier:
                return feature.get("ValueAsString", "")
        raise ValueError(f"record has no {self.record_identifier!r}")

    def _run_call(self, call: list[_Pending], done: "SimpleQueue[_Done]") -> None:
        """On the executor: one call's outcomes, always handed back to the scheduler."""
        unresolved = TransientStoreError("Unresolved", "no outcome for this entry")
        outcomes: list[WriteOutcome] = [unresolved] * len(call)
        try:
            outcomes = self._send(call)
        except Exception as error:  # a bug: every record of the call fails with it
            outcomes = [error] * len(call)
        finally:
            done.put((call, outcomes))

    def _send(self, call: list[_Pending]) -> list[WriteOutcome]:
        """One call, plus bounded re-sends of its unprocessed entries."""
        decided: dict[str, WriteOutcome] = {}
        pending = resend_unfinished(
            lambda unfinished: self._call(unfinished, decided),
            call,
            rounds=self._unprocessed_attempts,
            pause=lambda resend: _BACKOFF_BASE_S * 2**resend * (0.5 + self._rng.random()),
            sleep=self._sleep,
        )
        for left in pending:
            decided[left.key] = TransientStoreError(
                "UnprocessedEntry", f"still unprocessed after {self._unprocessed_attempts} attempts"
            )
        return [decided[p.key] for p in call]

    def _call(self, call: list[_Pending], decided: dict[str, WriteOutcome]) -> list[_Pending]:
        """BatchWriteRecord for ``call``; records what is decided, returns the unprocessed."""
        entries = [{"FeatureGroupName": self.feature_group_name, "Record": p.record} for p in call]
        try:
            response = self._client.batch_write_record(Entries=entries)
        except (ClientError, BotoCoreError) as error:
            failure = classify(error)
            decided.update((p.key, failure) for p in call)
            return []
        finished = time.perf_counter()
        by_key = {p.key: p for p in call}
        failed: dict[str, StoreError] = {}
        unprocessed: list[_Pending] = []
        unmatched = False
        for item in response.get("Errors") or []:  # an echoed entry maps back by identifier
            found = self._match(by_key, item.get("Entry"))
            if found is None:
                unmatched = True
                continue
            failed[found.key] = classify_code(
                str(item.get("ErrorCode", "Unknown")), str(item.get("ErrorMessage", ""))
            )
        for entry in response.get("UnprocessedEntries") or []:
            found = self._match(by_key, entry)
            if found is None:
                unmatched = True
            elif found.key not in failed:
                unprocessed.append(found)
        left = {p.key for p in unprocessed}
        for p in call:
            if p.key in failed:
                decided[p.key] = failed[p.key]
            elif p.key in left:
                continue
            elif unmatched:  # cannot tell which entry an outcome belongs to: redeliver
                decided[p.key] = TransientStoreError("MalformedResponse", "unmatched entry outcome")
            else:
                decided[p.key] = (finished - p.ready_at) * 1000
        return unprocessed

    def _match(self, by_key: dict[str, _Pending], entry: Any) -> _Pending | None:
        if not isinstance(entry, dict):
            return None
        try:
            return by_key.get(self.key_of(entry.get("Record") or []))
        except ValueError:
            return None


class _Schedule:
    """One ``write_all``'s lanes; only the scheduling thread touches them."""

    def __init__(self, writer: StoreWriter) -> None:
        self._writer = writer
        self.outcomes: dict[int, WriteOutcome] = {}
        self.ready: deque[_Pending] = deque()
        self.in_flight = 0
        self._in_flight_keys: set[str] = set()
        self._active: set[str] = set()  # lanes with a record ready or in flight
        self._waiting: dict[str, deque[_Pending]] = {}  # records behind a lane's active one
        self._failed: set[str] = set()
        self._done: SimpleQueue[_Done] = SimpleQueue()

    def add(self, tag: int, record: Record) -> None:
        """A record joins its lane: ready at once if the lane is idle."""
        try:
            key = self._writer.key_of(record)
        except ValueError as error:
            self.outcomes[tag] = error
            return
        pending = _Pending(tag, key, record)
        if key in self._failed:
            self.outcomes[tag] = _deferred()
        elif key in self._active:
            self._waiting.setdefault(key, deque()).append(pending)
        else:
            self._active.add(key)
            self._make_ready(pending)

    def send(self, *, partial: bool) -> None:
        """Submit calls of ready records while there is room: full ones, and with ``partial``
        one with room left."""
        writer = self._writer
        size = writer.batch_size
        while self.ready and self.in_flight < writer.concurrency:
            if len(self.ready) < size and not partial:
                return
            call = [self.ready.popleft() for _ in range(min(size, len(self.ready)))]
            writer._executor.submit(writer._run_call, call, self._done)
            self.in_flight += 1  # only once submitted, or a refused call would be waited for
            self._in_flight_keys.update(p.key for p in call)

    def linger_left(self) -> float:
        """How much longer the ready records may wait for a call in flight; 0 when no call in
        flight holds a lane with more records waiting (none can become ready then)."""
        if not any(key in self._in_flight_keys for key in self._waiting):
            return 0.0
        return self.ready[0].ready_at + self._writer.linger_s - time.perf_counter()

    def settle(self, timeout: float | None) -> None:
        """Take the outcomes of finished calls (waiting up to ``timeout`` for the first one)
        and move their lanes on."""
        try:
            if timeout == 0:
                if self._done.empty():
                    return
                finished = self._done.get_nowait()
            else:
                finished = self._done.get(timeout=timeout)
        except Empty:
            return
        while True:
            self._settle_call(*finished)
            if self._done.empty():
                return
            finished = self._done.get_nowait()

    def _settle_call(self, call: list[_Pending], outcomes: list[WriteOutcome]) -> None:
        self.in_flight -= 1
        for pending, outcome in zip(call, outcomes, strict=True):
            self._in_flight_keys.discard(pending.key)
            self.outcomes[pending.tag] = outcome
            if isinstance(outcome, BaseException):
                self._fail_lane(pending.key)
            else:
                self._advance_lane(pending.key)

    def _advance_lane(self, key: str) -> None:
        waiting = self._waiting.get(key)
        if not waiting:
            self._active.discard(key)
            return
        self._make_ready(waiting.popleft())
        if not waiting:
            del self._waiting[key]

    def _fail_lane(self, key: str) -> None:
        self._active.discard(key)
        self._failed.add(key)
        for pending in self._waiting.pop(key, ()):
            self.outcomes[pending.tag] = _deferred()

    def _make_ready(self, pending: _Pending) -> None:
        pending.ready_at = time.perf_counter()
        self.ready.append(pending)


def _deferred() -> Deferred:
    return Deferred("an earlier record of this key failed; deferred to redelivery")
