"""The events a scenario sends: a known slice of raw/, reordered, duplicated and salted with
poison pills as its plan says.

Each scenario gets its own customers (disjoint slices), so what the online store holds for
them after the run comes from that scenario alone.
"""

from __future__ import annotations

import csv
import hashlib
import json
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from devstack.rigs.chaos.plan import FaultPlan
from featurestream.contract.events import MAX_EVENT_BYTES
from producers.encoding import EncodedEvent
from producers.timeline import read_timeline

StreamKind = Literal["customer", "order"]
PILL_EVENT_TIME = "2031-01-01T00:00:00.000Z"
"""Event time of the valid-looking pills: newer than all of raw/, so if applied it would show."""


def customer_slice(first: int, count: int) -> list[str]:
    """``count`` customer ids from ``C<first>`` on (raw/ has C1..C10000)."""
    return [f"C{n}" for n in range(first, first + count)]


def cut_raw(raw_dir: Path, customer_ids: Iterable[str], work_dir: Path) -> tuple[Path, Path]:
    """``customers.csv`` and ``orders.csv`` of ``raw_dir`` cut down to these customers' rows
    (header and columns unchanged), written into ``work_dir``."""
    keep = set(customer_ids)
    cut = []
    for name in ("customers.csv", "orders.csv"):
        target = work_dir / name
        with (raw_dir / name).open(newline="") as source, target.open("w", newline="") as out:
            reader, writer = csv.reader(source), csv.writer(out)
            header = next(reader)
            column = header.index("customer_id")
            writer.writerow(header)
            writer.writerows(row for row in reader if row[column] in keep)
        cut.append(target)
    return cut[0], cut[1]


def read_slice(raw_dir: Path, customer_ids: Iterable[str], work_dir: Path) -> list[EncodedEvent]:
    """Every event of these customers in raw/, validated and in event-time order (as the
    replay sends them), read by the replay's own timeline reader from the cut CSVs, so the
    events are byte for byte what ``featurestream replay`` sends."""
    customers, orders = cut_raw(raw_dir, customer_ids, work_dir)

    def refuse(row: object) -> None:
        raise ValueError(f"raw/ row cannot be read: {row}")

    sources: list[tuple[Literal["customers", "orders"], Path]] = [
        ("customers", customers),
        ("orders", orders),
    ]
    return [item.event for item in read_timeline(sources, on_bad_row=refuse).events]


@dataclass(frozen=True)
class PoisonPill:
    """One invalid record, where it goes and a part of the reason quarantine must give."""

    kind: str
    stream: StreamKind
    partition_key: str
    data: bytes
    reason: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def _customer_event(customer_id: str, age: int, when: str) -> dict[str, object]:
    return {
        "event_id": f"chaos:customer:{customer_id}:{when}",
        "schema_version": 1,
        "event_type": "customer.updated",
        "event_time": when,
        "source": "chaos",
        "data": {
            "customer_id": customer_id,
            "sex": "F",
            "age": age,
            "is_married": True,
            "active_since": "2016-01-01T00:00:00.000Z",
        },
    }


def _order_event(customer_id: str, when: str) -> dict[str, object]:
    return {
        "event_id": f"chaos:order:{customer_id}:{when}",
        "schema_version": 1,
        "event_type": "order.placed",
        "event_time": when,
        "source": "chaos",
        "data": {
            "order_id": f"O9{int(customer_id[1:]):09d}",  # beyond raw/s order ids
            "customer_id": customer_id,
            "product_id": "P1",
            "purchase_amount": 1.0,
            "is_reordered": False,
            "purchased_on": when,
        },
    }


def poison_pills(customer_ids: list[str]) -> list[PoisonPill]:
    """Four kinds of invalid record on each stream, keyed to customers of the scenario.

    The schema-invalid, oversized and wrong-stream ones are dated in the future: applied by
    mistake, they would become the customer's online record and the online check would see it.
    """
    future = PILL_EVENT_TIME
    pills: list[PoisonPill] = []
    streams: tuple[StreamKind, ...] = ("customer", "order")
    for index, stream in enumerate(streams):
        key = customer_ids[index % len(customer_ids)]
        own = (
            _customer_event(key, 40, future) if stream == "customer" else _order_event(key, future)
        )
        other = (
            _order_event(key, future) if stream == "customer" else _customer_event(key, 40, future)
        )
        invalid = json.loads(json.dumps(own))
        if stream == "customer":
            invalid["data"]["age"] = 7  # under 18: the contract rejects it
        else:
            invalid["data"]["purchase_amount"] = "a lot"
        oversized = {**own, "source": "x" * (MAX_EVENT_BYTES + 1)}
        own_stream = f"{stream}-events"
        pills += [
            PoisonPill("not-json", stream, key, b"{not json: " + key.encode(), "not valid JSON"),
            PoisonPill("schema-invalid", stream, key, json.dumps(invalid).encode(), "data."),
            PoisonPill(
                "oversized",
                stream,
                key,
                json.dumps(oversized).encode(),
                f"limit is {MAX_EVENT_BYTES}",
            ),
            PoisonPill(
                "wrong-type",
                stream,
                key,
                json.dumps(other).encode(),
                f"does not belong on the {own_stream} stream",
            ),
        ]
    return pills


@dataclass
class Workload:
    """What to send, in order: valid events (with any duplicates) and poison pills."""

    valid: list[EncodedEvent]
    sends: list[EncodedEvent]
    pills: list[PoisonPill] = field(default_factory=list)

    @property
    def duplicates(self) -> int:
        return len(self.sends) - len(self.valid)


def build_workload(valid: list[EncodedEvent], plan: FaultPlan, rng: random.Random) -> Workload:
    """Shuffle (the whole slice: out of order within and across batches), then re-send a
    share of the events at random later positions (so a duplicate can arrive after a newer
    event of its customer), then add the poison pills at random positions."""
    sends = list(valid)
    if plan.shuffle:
        rng.shuffle(sends)
    if plan.duplicate > 0:
        count = max(1, round(len(valid) * plan.duplicate))
        for event in rng.sample(valid, count):
            at = sends.index(event) + 1
            sends.insert(rng.randint(at, len(sends)), event)
    customers = sorted({event.partition_key for event in valid}, key=lambda c: int(c[1:]))
    pills = poison_pills(customers) if plan.poison_pills else []
    return Workload(valid, sends, pills)
