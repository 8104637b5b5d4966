"""A coalescing Feature Store writer: lane threads ``put`` one record each, calls carry up to 25.

Why hand-written: boto3 has no batching helper for the Feature Store runtime (its batch
writers are DynamoDB's and are single-threaded buffers with no per-item outcome), and
Powertools batches *input* records, not output calls. Here many lane threads each block on
their own record's outcome, so the writer has to gather *concurrent* writers into one
``BatchWriteRecord`` and hand every waiting thread its own entry's result.

How: the first ``put`` opens a batch and waits up to ``linger`` for others to join. The put
that makes it ``batch_size`` long closes it at once, and so does the moment every lane that
can run waits in it (the lanes report in: :class:`featurestream.lanes.LaneObserver`): nobody
else can join then, so waiting out the linger would only idle the pool. Whoever
closes a batch sends it from its own (lane) thread, so several calls can be in flight on the
shared client and its pool; no extra thread is started.

A batch never holds two entries with the same record identifier: per-entry ``Errors`` and
``UnprocessedEntries`` echo the entry, and the identifier is what maps each of them back to
its waiting thread (it also keeps one customer's writes ordered).

Per-record semantics are PutRecord's (event-time gate, full replace), so a call's outcome
per entry is classified with the same rules as a PutRecord error (:func:`classify_code`).
"""

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from featurestream.config import DEFAULT_STORE_BATCH_LINGER_MS
from featurestream.store import StoreError, TransientStoreError, classify, classify_code

MAX_BATCH_SIZE: Final = 25
DEFAULT_UNPROCESSED_ATTEMPTS: Final = 3
_BACKOFF_BASE_S: Final = 0.025


class _BatchWriteClient(Protocol):
    def batch_write_record(self, **kwargs: Any) -> Any: ...


@dataclass(eq=False)
class _Slot:
    """One waiting ``put``: its record and, once known, its outcome."""

    key: str
    record: list[dict[str, str]]
    done: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None

    def resolve(self, error: BaseException | None = None) -> None:
        if not self.done.is_set():
            self.error = error
            self.done.set()


@dataclass(eq=False)
class _Batch:
    opened: float
    slots: dict[str, _Slot] = field(default_factory=dict)
    closed: bool = False


class BatchingWriter:
    """Writes records to one feature group through ``BatchWriteRecord``; shared by threads.

    ``put`` has :class:`featurestream.store.FeatureStoreWriter`'s contract: it returns the
    write's latency in ms (coalescing wait included) or raises :class:`StoreError`.
    """

    def __init__(
        self,
        client: _BatchWriteClient,
        feature_group_name: str,
        *,
        record_identifier: str,
        batch_size: int = MAX_BATCH_SIZE,
        linger_ms: float = DEFAULT_STORE_BATCH_LINGER_MS,
        unprocessed_attempts: int = DEFAULT_UNPROCESSED_ATTEMPTS,
        concurrency: int | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not 1 <= batch_size <= MAX_BATCH_SIZE:
            raise ValueError(f"batch_size must be 1-{MAX_BATCH_SIZE}: {batch_size}")
        self._client = client
        self.feature_group_name = feature_group_name
        self.record_identifier = record_identifier
        self.batch_size = batch_size
        self.linger_s = max(0.0, linger_ms) / 1000
        self._unprocessed_attempts = max(1, unprocessed_attempts)
        self._sleep = sleep
        self._rng = random.Random()  # noqa: S311  # nosec B311  # retry jitter, not crypto
        self._cond = threading.Condition()
        self._open: _Batch | None = None
        self._in_flight: set[str] = set()
        self._open_lanes = 0
        self._concurrency = concurrency

    def lanes_opened(self, count: int) -> None:
        """``count`` lanes (one thread each, at most ``concurrency`` at once) will ``put``."""
        with self._cond:
            self._open_lanes += count

    def lane_closed(self) -> None:
        """A lane will ``put`` no more; if the others all wait in the open batch, send it."""
        to_send = None
        with self._cond:
            self._open_lanes = max(0, self._open_lanes - 1)
            if self._open is not None and self._holds_every_lane(self._open):
                to_send = self._close(self._open)
        if to_send is not None:
            self._send(to_send)

    def _holds_every_lane(self, batch: _Batch) -> bool:
        """Every lane that can run now waits in ``batch`` (caller holds the lock).

        Lanes waiting on a call in flight do not count as "nobody left": when the call
        returns they write again and can fill this batch; the linger bounds that wait.
        Sending early there would split the lanes into ever smaller calls.
        """
        running = self._open_lanes
        if self._concurrency is not None:
            running = min(running, self._concurrency)
        return 0 < running <= len(batch.slots)

    def put(self, record: list[dict[str, str]]) -> float:
        """Write one record; blocks until its entry's outcome is known."""
        started = time.perf_counter()
        slot = _Slot(self._key(record), record)
        to_send: list[_Batch] = []
        with self._cond:
            # The lanes run one record per customer at a time; the writer relies on it for
            # order between calls (within a call, the cut below keeps identifiers unique).
            assert slot.key not in self._in_flight, f"two puts in flight for {slot.key!r}"  # nosec B101
            self._in_flight.add(slot.key)
            batch = self._open
            if batch is not None and slot.key in batch.slots:
                to_send.append(self._close(batch))  # unreachable while the lanes hold
                batch = None
            leader = batch is None
            if batch is None:
                batch = self._open = _Batch(opened=time.monotonic())
            batch.slots[slot.key] = slot
            if len(batch.slots) >= self.batch_size or self._holds_every_lane(batch):
                to_send.append(self._close(batch))
                leader = False
        try:
            for closed in to_send:
                self._send(closed)
            if leader:
                self._linger_then_send(batch)
            slot.done.wait()
        finally:
            with self._cond:
                self._in_flight.discard(slot.key)
        if slot.error is not None:
            raise slot.error
        return (time.perf_counter() - started) * 1000

    def _key(self, record: list[dict[str, str]]) -> str:
        for feature in record:
            if feature.get("FeatureName") == self.record_identifier:
                return feature.get("ValueAsString", "")
        raise ValueError(f"record has no {self.record_identifier!r}")

    def _close(self, batch: _Batch) -> _Batch:
        """Mark ``batch`` full/sent (caller holds the lock); the caller then sends it."""
        batch.closed = True
        if self._open is batch:
            self._open = None
        self._cond.notify_all()
        return batch

    def _linger_then_send(self, batch: _Batch) -> None:
        """The batch's first writer: wait for company until the linger ends or it fills up."""
        with self._cond:
            while not batch.closed:
                remaining = batch.opened + self.linger_s - time.monotonic()
                if remaining <= 0:
                    self._close(batch)
                    break
                self._cond.wait(remaining)
            else:
                return  # closed by the put that filled it; that thread sends it
        self._send(batch)

    def _send(self, batch: _Batch) -> None:
        """One call (plus bounded re-sends of unprocessed entries); resolves every slot."""
        pending = list(batch.slots.values())
        try:
            for attempt in range(self._unprocessed_attempts):
                if attempt:
                    self._sleep(_BACKOFF_BASE_S * 2**attempt * (0.5 + self._rng.random()))
                pending = self._call(pending)
                if not pending:
                    return
            for slot in pending:
                slot.resolve(
                    TransientStoreError(
                        "UnprocessedEntry",
                        f"still unprocessed after {self._unprocessed_attempts} attempts",
                    )
                )
        except BaseException as error:  # never leave a lane waiting forever
            for slot in batch.slots.values():
                slot.resolve(error)
            raise
        finally:
            for slot in batch.slots.values():
                slot.resolve(TransientStoreError("Unresolved", "no outcome for this entry"))

    def _call(self, slots: list[_Slot]) -> list[_Slot]:
        """BatchWriteRecord for ``slots``; resolves what is decided, returns the unprocessed."""
        entries = [{"FeatureGroupName": self.feature_group_name, "Record": s.record} for s in slots]
        try:
            response = self._client.batch_write_record(Entries=entries)
        except (ClientError, BotoCoreError) as error:
            failure = classify(error)
            for slot in slots:
                slot.resolve(failure)
            return []
        by_key = {slot.key: slot for slot in slots}
        failed: dict[str, StoreError] = {}
        unprocessed: list[_Slot] = []
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
        left = {s.key for s in unprocessed}
        for slot in slots:
            if slot.key in failed:
                slot.resolve(failed[slot.key])
            elif slot.key in left:
                continue
            elif unmatched:  # cannot tell which entry an outcome belongs to: redeliver
                slot.resolve(TransientStoreError("MalformedResponse", "unmatched entry outcome"))
            else:
                slot.resolve()
        return unprocessed

    def _match(self, by_key: dict[str, _Slot], entry: Any) -> _Slot | None:
        if not isinstance(entry, dict):
            return None
        try:
            return by_key.get(self._key(entry.get("Record") or []))
        except ValueError:
            return None
