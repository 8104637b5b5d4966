"""What Lambda does after an invocation: checkpoint, retry, bisect or give up.

Written by hand because no library implements the event source mapping's semantics:

* a function error (exception, crash, timeout, invalid partial response) fails the whole
  batch; with BisectBatchOnFunctionError a batch of more than one record is split in two and
  the halves are retried in order, and a split does not consume a retry attempt;
* with ReportBatchItemFailures, a returned ``batchItemFailures`` checkpoints before the lowest
  failed sequence number and retries everything from it on (records after it included);
* after MaximumRetryAttempts failed retries (-1 = unlimited) the batch goes to the on-failure
  destination and the shard moves on; records older than MaximumRecordAgeInSeconds are
  discarded the same way before an invocation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from devstack.standins.trigger.pool import InvokeResult
from devstack.standins.trigger.records import StreamRecord

VerdictKind = Literal["success", "partial", "failure"]


@dataclass
class Batch:
    """Records invoked together; ``attempts`` counts failed invocations against the retry limit."""

    records: list[StreamRecord]
    attempts: int = 0
    invocations: int = 0
    last_function_error: str | None = None


@dataclass(frozen=True)
class Verdict:
    """How an invocation went: ``failed_from`` is the index of the lowest failed record."""

    kind: VerdictKind
    failed_from: int = 0
    function_error: bool = False
    reason: str = ""


@dataclass(frozen=True)
class Step:
    """What to do next: checkpoint ``done`` leading records, run ``retry``, discard ``discard``."""

    done: int
    retry: list[Batch] = field(default_factory=list)
    discard: Batch | None = None
    bisected: bool = False


def judge(
    result: InvokeResult, records: Sequence[StreamRecord], *, report_batch_item_failures: bool
) -> Verdict:
    """Read an invocation result the way Lambda reads it."""
    if not result.ok:
        return Verdict("failure", function_error=True, reason=str(result.error_type))
    if not report_batch_item_failures:
        return Verdict("success")  # a returned batchItemFailures is ignored (silently!)
    response = result.response
    if not isinstance(response, dict):
        return Verdict("success")
    failures = response.get("batchItemFailures")
    if not failures:
        return Verdict("success")
    if not isinstance(failures, list):
        return Verdict("failure", reason="batchItemFailures is not a list")
    return _partial(failures, records)


def _partial(failures: list[Any], records: Sequence[StreamRecord]) -> Verdict:
    """A partial failure at the lowest listed record; any invalid item fails the batch."""
    index = {record.sequence_number: i for i, record in enumerate(records)}
    positions = []
    for item in failures:
        identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not isinstance(identifier, str) or identifier not in index:
            return Verdict("failure", reason="invalid itemIdentifier")
        positions.append(index[identifier])
    return Verdict("partial", failed_from=min(positions), reason="batchItemFailures")


def exhausted(attempts: int, maximum_retry_attempts: int) -> bool:
    """True once a batch has failed more times than the retry limit allows."""
    return maximum_retry_attempts >= 0 and attempts > maximum_retry_attempts


def plan(batch: Batch, verdict: Verdict, *, bisect: bool, maximum_retry_attempts: int) -> Step:
    """The next step after ``batch`` was invoked with outcome ``verdict``."""
    if verdict.kind == "success":
        return Step(done=len(batch.records))
    if verdict.kind == "failure" and bisect and len(batch.records) > 1:
        middle = len(batch.records) // 2
        halves = [
            Batch(batch.records[:middle], attempts=batch.attempts),
            Batch(batch.records[middle:], attempts=batch.attempts),
        ]
        return Step(done=0, retry=halves, bisected=True)
    done = verdict.failed_from if verdict.kind == "partial" else 0
    remainder = Batch(
        batch.records[done:],
        attempts=batch.attempts + 1,
        invocations=batch.invocations,
        last_function_error=batch.last_function_error,
    )
    if exhausted(remainder.attempts, maximum_retry_attempts):
        return Step(done=done, discard=remainder)
    return Step(done=done, retry=[remainder])


def expired_prefix(records: Sequence[StreamRecord], maximum_record_age: int, now: float) -> int:
    """How many leading records are older than MaximumRecordAgeInSeconds (-1 = never)."""
    if maximum_record_age < 0:
        return 0
    cutoff = now - maximum_record_age
    count = 0
    for record in records:
        if record.arrival >= cutoff:
            break
        count += 1
    return count


def response_summary(response: Any) -> str:
    """A short, data-free description of a response for logs."""
    if isinstance(response, dict) and "batchItemFailures" in response:
        failures = response.get("batchItemFailures") or []
        return f"{len(failures)} batchItemFailures"
    return type(response).__name__
