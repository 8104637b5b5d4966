"""Publish validated events to Kinesis with PutRecords, safely.

- Batches within PutRecords' limits (:mod:`producers.batching`), partition key
  ``customer_id``.
- PutRecords answers 200 with per-record failures; only the failed records are resent,
  after exponential backoff with jitter, for at most ``RetryPolicy.max_retries`` resends.
  A customer's later records are held back until its failed record went through, and are
  resent in their original order, so retries never reorder one customer's events. Records
  still failing (and the same customer's records held behind them) are returned to the
  caller as :class:`DeliveryFailure`; nothing is dropped silently.
- Whole-call errors (throttling, 5xx, timeouts) are retried by botocore's configured retry
  mode; once botocore gives up they count as a failed attempt of every record in that call.
  A missing stream, denied access, bad credentials or an unreachable endpoint raise
  :class:`PublishError` at once: retrying cannot fix them. The unsent events stay
  buffered (``pending()``) and earlier failures stay in ``take_failures()``.
- Thread-safe; one request is in flight per stream, so concurrent callers cannot reorder
  a customer's events either. Buffered events are flushed on ``close()``, on leaving a
  ``with`` block, and at interpreter exit.
"""

import atexit
import functools
import logging
import os
import random
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal, Protocol

from featurestream.aws.resend import resend_unfinished
from featurestream.aws.throttling import THROTTLING_CODES
from producers.batching import BatchLimits, split_batch
from producers.encoding import AnyEvent, EncodedEvent, StreamKind, encode_event
from producers.streams import StreamNames

log = logging.getLogger(__name__)

HELD_BEHIND_FAILURE: Final = "HeldBehindFailedRecord"
_TRANSIENT_CODES: Final = THROTTLING_CODES | frozenset(
    {
        "InternalFailure",
        "InternalFailureException",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "RequestTimeout",
        "RequestTimeoutException",
    }
)

RetryMode = Literal["standard", "adaptive", "legacy"]


class KinesisClient(Protocol):
    """The one call the publisher makes; a boto3 Kinesis client, or a test wrapper."""

    def put_records(self, **kwargs: Any) -> Mapping[str, Any]: ...


class PublishError(RuntimeError):
    """The stream cannot take records at all; retrying would not help.

    Events not yet accepted stay buffered in the publisher (``buffered`` counts them).
    """

    def __init__(self, message: str, *, stream: str, code: str) -> None:
        super().__init__(message)
        self.stream = stream
        self.code = code


@dataclass(frozen=True)
class DeliveryFailure:
    """An event Kinesis did not accept within the retry budget; re-publish ``event.data``.

    ``error_message`` is Kinesis' own text (account, stream, shard), never payload.
    """

    stream: str
    event: EncodedEvent
    error_code: str
    error_message: str
    attempts: int


@dataclass(frozen=True)
class PublisherStats:
    """``sent``: records accepted; ``retried``: resends of failed records; ``failed``:
    records given up on (returned as :class:`DeliveryFailure`)."""

    sent: int = 0
    retried: int = 0
    failed: int = 0

    def __add__(self, other: "PublisherStats") -> "PublisherStats":
        return PublisherStats(
            self.sent + other.sent, self.retried + other.retried, self.failed + other.failed
        )


@dataclass(frozen=True)
class RetryPolicy:
    """Resends of records that failed inside a 200 response (botocore never does these)."""

    max_retries: int = 5
    base_delay: float = 0.1
    max_delay: float = 5.0

    def delay(self, retry: int, rng: random.Random) -> float:
        """Exponential backoff with equal jitter: half fixed, half random."""
        ceiling = min(self.max_delay, self.base_delay * 2.0 ** (retry - 1))
        return ceiling / 2 + rng.uniform(0, ceiling / 2)


def make_kinesis_client(
    *,
    retry_mode: RetryMode = "standard",
    max_attempts: int = 5,
    max_pool_connections: int = 10,
) -> Any:
    """A Kinesis client whose whole-call retries are botocore's (``max_attempts`` counts
    the first call too). The endpoint comes from boto3's standard configuration
    (``AWS_ENDPOINT_URL_KINESIS``, ``AWS_ENDPOINT_URL``, profile), so no local branch.

    botocore's parameter validation is off: the publisher builds every request itself
    within the limits, and validating 500 entries costs several ms per call."""
    import boto3
    from botocore.config import Config
    from botocore.exceptions import NoRegionError

    config = Config(
        retries={"mode": retry_mode, "total_max_attempts": max_attempts},
        max_pool_connections=max_pool_connections,
        parameter_validation=False,
        connect_timeout=10,
        read_timeout=30,
    )
    session = boto3.session.Session()
    # AWS_REGION is the region setting every AWS SDK reads; boto3 reads only its own
    # AWS_DEFAULT_REGION (and the profile), so AWS_REGION fills in when those are unset.
    region = session.region_name or os.environ.get("AWS_REGION") or None
    try:
        return session.client("kinesis", config=config, region_name=region)
    except NoRegionError as error:
        raise PublishError(
            "no AWS region configured: set AWS_REGION or AWS_DEFAULT_REGION",
            stream="",
            code="NoRegion",
        ) from error


class _Entry:
    __slots__ = ("done", "error", "event", "failures", "seq")

    def __init__(self, seq: int, event: EncodedEvent) -> None:
        self.seq = seq
        self.event = event
        self.failures = 0
        self.error: tuple[str, str] = ("", "")
        self.done = False


def _key(entry: _Entry) -> str:
    return entry.event.partition_key


def _size(entry: _Entry) -> int:
    return entry.event.size


class StreamPublisher:
    """Buffers encoded events for one stream and delivers them in order (see module doc)."""

    def __init__(
        self,
        client: KinesisClient,
        stream_name: str,
        *,
        limits: BatchLimits | None = None,
        retry: RetryPolicy | None = None,
        buffer_records: int = 500,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.stream_name = stream_name
        self.limits = limits or BatchLimits()
        self._client = client
        self._retry = retry or RetryPolicy()
        self._buffer_records = max(1, buffer_records)
        self._sleep = sleep
        self._rng = rng or random.Random()  # noqa: S311  # nosec B311  # retry jitter, not crypto
        self._lock = threading.Lock()  # buffer, counters, failures
        self._send_lock = threading.Lock()  # one delivery at a time keeps key order
        self._buffer: list[_Entry] = []
        self._failures: list[DeliveryFailure] = []
        self._seq = 0
        self._sent = self._retried = self._failed = 0

    @property
    def stats(self) -> PublisherStats:
        with self._lock:
            return PublisherStats(self._sent, self._retried, self._failed)

    @property
    def buffered(self) -> int:
        with self._lock:
            return len(self._buffer)

    def put(self, event: EncodedEvent) -> None:
        """Buffer one event; sends (blocking) once ``buffer_records`` are waiting."""
        if event.size > self.limits.max_record_bytes:
            from featurestream.contract.events import InvalidEvent

            raise InvalidEvent(
                f"record is {event.size} bytes; the limit is {self.limits.max_record_bytes}"
            )
        with self._lock:
            self._buffer.append(_Entry(self._seq, event))
            self._seq += 1
            full = len(self._buffer) >= self._buffer_records
        if full:
            self._drain()

    def flush(self) -> list[DeliveryFailure]:
        """Send everything buffered; return the failures collected since the last flush."""
        self.drain()
        return self.take_failures()

    def drain(self) -> None:
        """Send everything buffered; failures are kept for :meth:`take_failures`."""
        self._drain()

    def take_failures(self) -> list[DeliveryFailure]:
        """The failures collected since they were last taken (and forget them)."""
        with self._lock:
            failures, self._failures = self._failures, []
        return failures

    def pending(self) -> list[EncodedEvent]:
        """The buffered events, in order: not yet accepted and not given up on."""
        with self._lock:
            return [entry.event for entry in self._buffer]

    def _drain(self) -> None:
        with self._send_lock:
            with self._lock:
                entries, self._buffer = self._buffer, []
            if entries:
                self._deliver(entries)

    def _deliver(self, entries: list[_Entry]) -> None:
        try:
            resend_unfinished(
                self._round,
                entries,
                rounds=None,  # _give_up ends it: each record has max_retries resends
                pause=lambda resend: self._retry.delay(resend, self._rng),
                sleep=self._sleep,
            )
        except BaseException:
            # Interrupted or fatal: what Kinesis has not accepted goes back to the buffer.
            unconfirmed = [entry for entry in entries if not entry.done]
            with self._lock:
                self._buffer[:0] = unconfirmed
            raise

    def _round(self, pending: list[_Entry]) -> list[_Entry]:
        """Send, give up on what is out of retries, count the resends still to come."""
        pending = self._give_up(self._send_round(pending))
        resends = sum(1 for entry in pending if entry.failures)
        with self._lock:
            self._retried += resends
        return pending

    def _send_round(self, pending: list[_Entry]) -> list[_Entry]:
        """Send every record not held behind a failure; return failed + held, in order."""
        blocked: set[str] = set()
        failed: list[_Entry] = []
        queue = pending
        while queue:
            batch, rest = split_batch(queue, self.limits, _key, _size, blocked)
            if not batch:
                break  # everything left waits behind a failure of its key
            sent = 0
            for entry, error in zip(batch, self._put_records(batch), strict=True):
                if error is None:
                    entry.done = True
                    sent += 1
                else:
                    entry.failures += 1
                    entry.error = error
                    blocked.add(entry.event.partition_key)
                    failed.append(entry)
            with self._lock:
                self._sent += sent
            queue = rest
        return sorted(failed + queue, key=lambda entry: entry.seq) if failed else queue

    def _give_up(self, pending: list[_Entry]) -> list[_Entry]:
        """Fail records out of retries, and the same key's later records with them."""
        keep: list[_Entry] = []
        dead_keys: set[str] = set()
        given_up: list[DeliveryFailure] = []
        for entry in pending:
            key = entry.event.partition_key
            if key in dead_keys or entry.failures > self._retry.max_retries:
                code, message = entry.error
                if entry.failures <= self._retry.max_retries:
                    code = HELD_BEHIND_FAILURE
                    message = "an earlier record with the same partition key failed"
                given_up.append(
                    DeliveryFailure(self.stream_name, entry.event, code, message, entry.failures)
                )
                entry.done = True
                dead_keys.add(key)
            else:
                keep.append(entry)
        if given_up:
            with self._lock:
                self._failures.extend(given_up)
                self._failed += len(given_up)
        return keep

    def _put_records(self, batch: list[_Entry]) -> list[tuple[str, str] | None]:
        """One PutRecords call; ``None`` per accepted record, else (code, message)."""
        from botocore.exceptions import (
            BotoCoreError,
            ClientError,
            EndpointConnectionError,
            NoCredentialsError,
        )

        records = [
            {"Data": entry.event.data, "PartitionKey": entry.event.partition_key} for entry in batch
        ]
        try:
            response = self._client.put_records(StreamName=self.stream_name, Records=records)
        except ClientError as error:
            code = str(error.response.get("Error", {}).get("Code", "Unknown"))
            message = str(error.response.get("Error", {}).get("Message", ""))
            status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
            if code in _TRANSIENT_CODES or status >= 500:
                return [(code, message)] * len(batch)
            raise PublishError(
                self._explain(code, message), stream=self.stream_name, code=code
            ) from error
        except (EndpointConnectionError, NoCredentialsError) as error:
            raise PublishError(
                f"cannot publish to {self.stream_name!r}: {error}",
                stream=self.stream_name,
                code=type(error).__name__,
            ) from error
        except BotoCoreError as error:  # timeouts, dropped connections: botocore gave up
            return [(type(error).__name__, str(error))] * len(batch)
        results = list(response.get("Records", []))
        if len(results) != len(batch):
            return [("MalformedResponse", "PutRecords answered a different count")] * len(batch)
        return [
            (str(result["ErrorCode"]), str(result.get("ErrorMessage", "")))
            if result.get("ErrorCode")
            else None
            for result in results
        ]

    def _explain(self, code: str, message: str) -> str:
        if code == "ResourceNotFoundException":
            return f"stream {self.stream_name!r} not found (check the name, region and endpoint)"
        if code in {"AccessDeniedException", "UnrecognizedClientException"}:
            return f"not allowed to write to stream {self.stream_name!r}: {code}: {message}"
        return f"PutRecords on {self.stream_name!r} failed: {code}: {message}"


def _flush_at_exit(ref: "weakref.ReferenceType[EventPublisher]") -> None:
    publisher = ref()
    if publisher is not None:
        publisher.close()


class EventPublisher:
    """The library entry point: validates each event, routes it by type to the customer
    or order stream, and delivers with :class:`StreamPublisher` (one per stream, sharing
    one client). Customer events are flushed before order events, so a registration
    buffered together with orders is sent first.

    >>> with EventPublisher() as publisher:            # doctest: +SKIP
    ...     publisher.put(order_event_dict)             # raises InvalidEvent if invalid
    ...     failures = publisher.flush()                # [] when everything was accepted
    """

    def __init__(
        self,
        streams: StreamNames | None = None,
        *,
        client: KinesisClient | None = None,
        limits: BatchLimits | None = None,
        retry: RetryPolicy | None = None,
        buffer_records: int = 500,
        retry_mode: RetryMode = "standard",
        max_attempts: int = 5,
        flush_at_exit: bool = True,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.streams = streams or StreamNames.from_env()
        shared = client or make_kinesis_client(retry_mode=retry_mode, max_attempts=max_attempts)
        self._publishers: dict[StreamKind, StreamPublisher] = {
            kind: StreamPublisher(
                shared,
                self.streams.for_kind(kind),
                limits=limits,
                retry=retry,
                buffer_records=buffer_records,
                sleep=sleep,
                rng=rng,
            )
            for kind in ("customer", "order")
        }
        self.unclaimed_failures: list[DeliveryFailure] = []
        self._exit_hook: Callable[[], None] | None = None
        if flush_at_exit:
            self._exit_hook = functools.partial(_flush_at_exit, weakref.ref(self))
            atexit.register(self._exit_hook)

    @property
    def stats(self) -> PublisherStats:
        return self._publishers["customer"].stats + self._publishers["order"].stats

    @property
    def buffered(self) -> int:
        return sum(publisher.buffered for publisher in self._publishers.values())

    def put(self, event: AnyEvent | Mapping[str, Any] | bytes | str) -> EncodedEvent:
        """Validate and buffer one event; raises ``InvalidEvent`` (nothing sent) if invalid."""
        encoded = encode_event(event)
        self.put_encoded(encoded)
        return encoded

    def put_encoded(self, event: EncodedEvent) -> None:
        """Buffer an event already encoded by :func:`~producers.encoding.encode_event`."""
        self._publishers[event.kind].put(event)

    def publish(
        self, events: Iterable[AnyEvent | Mapping[str, Any] | bytes | str]
    ) -> list[DeliveryFailure]:
        """Validate all, then send all: one invalid event means none is sent."""
        encoded = [encode_event(event) for event in events]
        for event in encoded:
            self.put_encoded(event)
        return self.flush()

    def flush(self) -> list[DeliveryFailure]:
        """Send everything buffered (customers first); return the failures since the last
        flush. Raises :class:`PublishError` if a stream cannot be written at all; then
        the unsent events stay buffered (:meth:`pending`) and the failures collected so
        far stay available to :meth:`take_failures`, so neither is lost."""
        for kind in ("customer", "order"):
            self._publishers[kind].drain()
        return self.take_failures()

    def take_failures(self) -> list[DeliveryFailure]:
        """The failures not yet returned by :meth:`flush` (e.g. after a ``PublishError``)."""
        return [
            failure
            for kind in ("customer", "order")
            for failure in self._publishers[kind].take_failures()
        ]

    def pending(self) -> list[EncodedEvent]:
        """The buffered events (customers first): not accepted by Kinesis, not failed."""
        return [
            event for kind in ("customer", "order") for event in self._publishers[kind].pending()
        ]

    def close(self) -> list[DeliveryFailure]:
        """Flush and stop the exit hook. Failures are returned and kept in
        ``unclaimed_failures`` (and logged by event id) so a ``with`` block loses none."""
        if self._exit_hook is not None:
            atexit.unregister(self._exit_hook)
            self._exit_hook = None
        failures = self.flush()
        if failures:
            self.unclaimed_failures.extend(failures)
            log.error(
                "%d event(s) could not be published: %s",
                len(failures),
                ", ".join(failure.event.event_id for failure in failures[:20]),
            )
        return failures

    def __enter__(self) -> "EventPublisher":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
