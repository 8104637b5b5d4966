"""Cut pending records into PutRecords requests within Kinesis' limits, keeping key order.

A request holds at most one record per partition key: Kinesis processes every entry of a
request even when an earlier one fails, so two records for one customer in one request
could land out of order. Records held back keep their place for the next request.
"""

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Final, TypeVar

T = TypeVar("T")

MAX_RECORDS_PER_REQUEST: Final = 500
MAX_REQUEST_BYTES: Final = 5 * 1024 * 1024
"""The classic 5 MiB; newer docs say 10 MiB, but moto and older regions enforce 5."""
MAX_RECORD_BYTES: Final = 1024 * 1024
"""Data plus partition key, for a stream with the default MaxRecordSizeInKiB."""


@dataclass(frozen=True)
class BatchLimits:
    """PutRecords limits; lower them in tests to exercise the cuts with small data."""

    max_records: int = MAX_RECORDS_PER_REQUEST
    max_request_bytes: int = MAX_REQUEST_BYTES
    max_record_bytes: int = MAX_RECORD_BYTES

    def __post_init__(self) -> None:
        if not 1 <= self.max_records <= MAX_RECORDS_PER_REQUEST:
            raise ValueError(f"max_records must be 1..{MAX_RECORDS_PER_REQUEST}")
        if self.max_record_bytes > self.max_request_bytes:
            raise ValueError("max_record_bytes cannot exceed max_request_bytes")


def split_batch(
    pending: Sequence[T],
    limits: BatchLimits,
    key: Callable[[T], str],
    size: Callable[[T], int],
    blocked: Collection[str] = (),
) -> tuple[list[T], list[T]]:
    """The next request from ``pending`` (in order) and the rest (still in order).

    A record is held back when its key is in ``blocked``, already in the request, or
    behind a held record of the same key, or when it would overflow the request bytes.
    Every record must already fit ``limits.max_record_bytes``.
    """
    batch: list[T] = []
    rest: list[T] = []
    taken: set[str] = set(blocked)
    total = 0
    for index, item in enumerate(pending):
        if len(batch) >= limits.max_records or total >= limits.max_request_bytes:
            rest.extend(pending[index:])
            break
        item_key = key(item)
        item_size = size(item)
        if item_key in taken or total + item_size > limits.max_request_bytes:
            rest.append(item)
        else:
            batch.append(item)
            total += item_size
        taken.add(item_key)
    return batch, rest
