"""Forming batches: lanes by partition key, batch size, payload cap and the batching window."""

from __future__ import annotations

import zlib
from collections import deque
from typing import Final

from devstack.standins.trigger.records import StreamRecord

MAX_PAYLOAD_BYTES: Final = 6 * 1024 * 1024
"""Lambda's synchronous invocation payload limit; a batch stops growing before it."""


def lane_for(partition_key: str, lanes: int) -> int:
    """The concurrent lane of a partition key: stable, so one key is always in one lane."""
    if lanes <= 1:
        return 0
    return zlib.crc32(partition_key.encode("utf-8")) % lanes


def batch_ready(
    pending: deque[StreamRecord], *, batch_size: int, window: float, now: float
) -> bool:
    """True when a batch should be invoked: full, at the payload cap, or the window closed.

    The window opens when the first record of the batch was read (``seen``, monotonic).
    """
    if not pending:
        return False
    if len(pending) >= batch_size or window <= 0:
        return True
    if now - pending[0].seen >= window:
        return True
    size = 0
    for record in pending:
        size += record.payload_size
        if size >= MAX_PAYLOAD_BYTES:
            return True
    return False


def take_batch(pending: deque[StreamRecord], batch_size: int) -> list[StreamRecord]:
    """Up to ``batch_size`` leading records within the payload cap (at least one)."""
    batch: list[StreamRecord] = []
    size = 0
    for record in pending:
        if len(batch) >= batch_size:
            break
        size += record.payload_size
        if batch and size > MAX_PAYLOAD_BYTES:
            break
        batch.append(record)
    return batch
