"""BatchWriteRecord calls for a backfill: 25 entries per call on a bounded pool of workers,
unfinished entries re-sent with backoff inside a budget, each entry's outcome kept.

Why not :class:`featurestream.ingest.store_writer.StoreWriter`: that one keeps each
customer's writes in order for the stream functions (one lane per record identifier, one
entry per identifier per call). A backfill writes at most one online entry per record and
the rest offline only, so order does not matter and calls can be full: many entries of one
identifier may share a call. Outcomes therefore map back by the whole entry, not by the
identifier. The retry rules are the library's: :func:`~featurestream.aws.resend.resend_unfinished`
for the loop, :func:`~featurestream.aws.store_errors.classify` for what is transient.

A call that fails as a whole with a refusal (access denied, a group that does not exist) or
that cannot reach the endpoint after botocore's retries stops the run (:class:`WriteStopped`):
every other call would fail the same way, and the user should hear it in seconds.
"""

import json
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from featurestream.aws.resend import resend_unfinished
from featurestream.aws.store_errors import StoreError, TransientStoreError, classify, classify_code
from producers.backfill.plan import Entry

MAX_ENTRIES: Final = 25
"""BatchWriteRecord takes 1-25 entries per call (the botocore model's ``Entries`` limits)."""
DEFAULT_ATTEMPTS: Final = 6
BACKOFF_BASE_S: Final = 0.05
BACKOFF_CAP_S: Final = 5.0


class WriteStopped(RuntimeError):
    """Every call would fail the same way; the message is the service's code and reason."""


class BatchWriteClient(Protocol):
    def batch_write_record(self, **kwargs: Any) -> Any: ...


@dataclass
class EntryFailure:
    """An entry still failing after the budget: the entry and the error code (no values)."""

    entry: Entry
    code: str


@dataclass
class WriteStats:
    written: int = 0
    calls: int = 0
    retried: int = 0
    failed: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, *, written: int = 0, calls: int = 0, retried: int = 0, failed: int = 0) -> None:
        with self._lock:
            self.written += written
            self.calls += calls
            self.retried += retried
            self.failed += failed


def _key(entry: Entry) -> str:
    """What identifies an echoed entry: group and record (``TargetStores`` may be left out)."""
    return json.dumps([entry.get("FeatureGroupName"), entry.get("Record")], sort_keys=True)


class BatchWriter:
    """Sends entries in calls of up to 25; thread-safe, one client shared by the workers."""

    def __init__(
        self,
        client: BatchWriteClient,
        *,
        attempts: int = DEFAULT_ATTEMPTS,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._client = client
        self._attempts = max(1, attempts)
        self._sleep = sleep
        self._rng = random.Random()  # noqa: S311  # nosec B311  # retry jitter, not crypto
        self.stats = WriteStats()

    def pause(self, resend: int) -> float:
        """Exponential backoff with jitter before the ``resend``-th re-send, capped."""
        return min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2.0**resend) * (0.5 + self._rng.random())

    def write(self, entries: Sequence[Entry]) -> list[EntryFailure]:
        """One call's entries (at most 25); returns what still failed after the budget."""
        if not 1 <= len(entries) <= MAX_ENTRIES:
            raise ValueError(f"a call takes 1-{MAX_ENTRIES} entries: {len(entries)}")
        failed: list[EntryFailure] = []
        last: dict[int, StoreError] = {}
        sent = 0

        def send(unfinished: list[int]) -> list[int]:
            nonlocal sent
            if sent:
                self.stats.add(retried=len(unfinished))
            sent += 1
            return self._call(entries, unfinished, failed, last)

        left = resend_unfinished(
            send,
            list(range(len(entries))),
            rounds=self._attempts,
            pause=self.pause,
            sleep=self._sleep,
        )
        for index in left:
            error = last.get(index)
            failed.append(EntryFailure(entries[index], error.code if error else "Unprocessed"))
        self.stats.add(failed=len(failed))
        return failed

    def _call(
        self,
        entries: Sequence[Entry],
        indexes: list[int],
        failed: list[EntryFailure],
        last: dict[int, StoreError],
    ) -> list[int]:
        """One BatchWriteRecord; records rejections, returns the indexes to send again."""
        self.stats.add(calls=1)
        try:
            response = self._client.batch_write_record(Entries=[entries[i] for i in indexes])
        except (ClientError, BotoCoreError) as error:
            outcome = classify(error)
            if isinstance(error, BotoCoreError) or not outcome.transient:
                raise WriteStopped(str(outcome)) from error
            last.update(dict.fromkeys(indexes, outcome))
            return indexes
        by_key: dict[str, list[int]] = {}
        for index in indexes:
            by_key.setdefault(_key(entries[index]), []).append(index)

        def match(entry: Any) -> int | None:
            found = by_key.get(_key(entry)) if isinstance(entry, dict) else None
            return found.pop() if found else None

        again: list[int] = []
        unmatched = False
        for item in response.get("Errors") or []:
            found = match(item.get("Entry"))
            if found is None:
                unmatched = True
                continue
            index = found
            outcome = classify_code(str(item.get("ErrorCode", "Unknown")), "")
            if outcome.transient:
                last[index] = outcome
                again.append(index)
            else:
                failed.append(EntryFailure(entries[index], outcome.code))
        for entry in response.get("UnprocessedEntries") or []:
            left = match(entry)
            if left is None:
                unmatched = True
            else:
                last[left] = TransientStoreError("Unprocessed", "")
                again.append(left)
        if unmatched:  # cannot tell which entries the outcomes were for: send the rest again
            rest = [i for found in by_key.values() for i in found]
            last.update(dict.fromkeys(rest, TransientStoreError("MalformedResponse", "")))
            again += rest
            by_key.clear()
        self.stats.add(written=sum(len(found) for found in by_key.values()))
        return sorted(again)  # re-sent in the order given
