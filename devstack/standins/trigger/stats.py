"""Counters per function and shard, read by the status endpoint while lanes update them."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field, fields
from typing import Any

from devstack.stack.process import describe_error

READ_FAILURES_BEFORE_FAILING = 3
"""Consecutive failed GetRecords calls (each already retried by botocore) after which a shard
counts as failing: its status says so and anything waiting on it stops with the error."""

COUNTERS = (
    "records_read",
    "read_errors",
    "records_processed",
    "batches_invoked",
    "function_errors",
    "partial_failures",
    "invalid_responses",
    "retries",
    "bisections",
    "records_to_on_failure",
    "batches_to_on_failure",
    "records_expired",
)


@dataclass
class ShardStats:
    """One shard of one mapping. ``pending`` = read but not yet checkpointed (the lag)."""

    shard_id: str
    records_read: int = 0
    read_errors: int = 0
    consecutive_read_errors: int = 0
    last_read_error: str | None = None
    """``Type: message`` of the newest failed read, never a record's content."""
    last_read_error_at: float | None = None
    records_processed: int = 0
    batches_invoked: int = 0
    function_errors: int = 0
    partial_failures: int = 0
    invalid_responses: int = 0
    retries: int = 0
    bisections: int = 0
    records_to_on_failure: int = 0
    batches_to_on_failure: int = 0
    records_expired: int = 0
    pending: int = 0
    millis_behind_latest: int | None = None
    oldest_pending_arrival: float | None = None
    last_read_sequence_number: str | None = None
    last_poll: float | None = None
    polls_since_read: int = 0
    closed: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, **deltas: int) -> None:
        with self.lock:
            for name, delta in deltas.items():
                setattr(self, name, getattr(self, name) + delta)

    def read_failed(self, error: BaseException, when: float) -> None:
        with self.lock:
            self.read_errors += 1
            self.consecutive_read_errors += 1
            self.last_read_error = describe_error(error)
            self.last_read_error_at = when

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            data = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "lock"}
        oldest = data.pop("oldest_pending_arrival")
        data["iterator_age_ms"] = (
            max(0, int((time.time() - oldest) * 1000)) if oldest is not None else 0
        )
        data["behind"] = data.pop("pending")
        data["failing"] = data["consecutive_read_errors"] >= READ_FAILURES_BEFORE_FAILING
        data["caught_up"] = (
            data["behind"] == 0
            and data["consecutive_read_errors"] == 0
            and data["last_poll"] is not None
            and (data["closed"] or (data["millis_behind_latest"] or 0) == 0)
            and data["polls_since_read"] > 0
        )
        data["last_poll"] = (
            None if data["last_poll"] is None else round(float(data["last_poll"]), 3)
        )
        return data


def totals(shards: list[dict[str, Any]]) -> dict[str, Any]:
    """Sum of the counters (and the lag) over shards."""
    summed: dict[str, Any] = {name: sum(int(s[name]) for s in shards) for name in COUNTERS}
    summed["behind"] = sum(int(s["behind"]) for s in shards)
    summed["caught_up"] = all(s["caught_up"] for s in shards)
    return summed


def failing_shards(status: dict[str, Any]) -> list[str]:
    """One line per failing shard of a runner's ``/status`` document."""
    return [
        f"{function['function_name']} cannot read {function['stream']} {shard_id}: "
        f"{shard['consecutive_read_errors']} GetRecords calls in a row failed, the last with "
        f"{shard['last_read_error']}"
        for function in status.get("functions", {}).values()
        for shard_id, shard in function.get("shards", {}).items()
        if shard.get("failing")
    ]
