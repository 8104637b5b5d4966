from dataclasses import dataclass

import pytest

from producers.batching import BatchLimits, split_batch


@dataclass
class Item:
    key: str
    size: int
    n: int


def split(items: list[Item], limits: BatchLimits, blocked: set[str] | None = None):
    return split_batch(items, limits, lambda i: i.key, lambda i: i.size, blocked or set())


def test_a_request_holds_at_most_max_records() -> None:
    items = [Item(f"C{n}", 10, n) for n in range(1200)]
    batch, rest = split(items, BatchLimits())
    assert len(batch) == 500
    assert [i.n for i in batch + rest] == list(range(1200))


def test_a_request_stays_within_the_byte_limit() -> None:
    limits = BatchLimits(max_records=500, max_request_bytes=1000, max_record_bytes=400)
    items = [Item(f"C{n}", 300, n) for n in range(5)]
    batch, rest = split(items, limits)
    assert [i.n for i in batch] == [0, 1, 2]
    assert sum(i.size for i in batch) <= 1000
    assert [i.n for i in rest] == [3, 4]


def test_one_record_per_key_per_request_and_later_records_of_that_key_wait() -> None:
    items = [
        Item("C1", 1, 0),
        Item("C2", 1, 1),
        Item("C1", 1, 2),
        Item("C3", 1, 3),
        Item("C1", 1, 4),
    ]
    batch, rest = split(items, BatchLimits())
    assert [i.n for i in batch] == [0, 1, 3]
    assert [i.n for i in rest] == [2, 4]


def test_a_key_held_back_for_size_blocks_its_later_records() -> None:
    limits = BatchLimits(max_records=10, max_request_bytes=100, max_record_bytes=100)
    items = [Item("C1", 60, 0), Item("C2", 60, 1), Item("C3", 10, 2), Item("C2", 10, 3)]
    batch, rest = split(items, limits)
    assert [i.n for i in batch] == [0, 2]
    assert [i.n for i in rest] == [1, 3]


def test_blocked_keys_are_left_in_place() -> None:
    items = [Item("C1", 1, 0), Item("C2", 1, 1)]
    batch, rest = split(items, BatchLimits(), blocked={"C1"})
    assert [i.n for i in batch] == [1]
    assert [i.n for i in rest] == [0]


def test_limits_reject_impossible_values() -> None:
    with pytest.raises(ValueError, match="max_records"):
        BatchLimits(max_records=501)
