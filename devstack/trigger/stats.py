"""Counters per function and shard, read by the status endpoint while lanes update them."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field, fields
from typing import Any

COUNTERS = (
    "records_read",
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

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            data = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "lock"}
        oldest = data.pop("oldest_pending_arrival")
        data["iterator_age_ms"] = (
            max(0, int((time.time() - oldest) * 1000)) if oldest is not None else 0
        )
        data["behind"] = data.pop("pending")
        data["caught_up"] = (
            data["behind"] == 0
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
