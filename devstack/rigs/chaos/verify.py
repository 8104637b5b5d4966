"""What a scenario left behind, compared with what the batch reference says it must be.

The reference is the library's transform (the one the parity test proves equal to the
tutorial's pandas + scikit-learn path) applied to each customer's newest valid event: that is
what the online store must hold. Every valid event must also have at least one offline row.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from devstack.rigs.chaos.workload import PoisonPill
from devstack.standins.featurestore.offline import partition_of
from featurestream.contract.catalog import CUSTOMERS, ORDERS, FeatureGroupSpec
from featurestream.contract.events import CustomerEvent, OrderEvent, parse_event
from featurestream.contract.params import FittedParams
from featurestream.contract.timeutil import parse_timestamp
from featurestream.contract.transforms import features_for, recency, tenure, value_as_string
from producers.encoding import EncodedEvent

AnyEvent = CustomerEvent | OrderEvent
TIME_RELATIVE = {
    "n_days_active": ("active_since", tenure),
    "n_days_since_last_purchase": ("purchased_on", recency),
}
"""Features computed as of the write: stored from the raw timestamp beside them."""


def spec_of(event: AnyEvent) -> FeatureGroupSpec:
    return CUSTOMERS if isinstance(event, CustomerEvent) else ORDERS


def newest_events(valid: Iterable[EncodedEvent]) -> dict[tuple[str, str], AnyEvent]:
    """(group, customer) → the newest valid event by event time: the reference online row."""
    newest: dict[tuple[str, str], AnyEvent] = {}
    for encoded in valid:
        event = parse_event(encoded.data)
        key = (spec_of(event).name, event.customer_id)
        if key not in newest or event.event_time > newest[key].event_time:
            newest[key] = event
    return newest


@dataclass
class OnlineVerdict:
    checked: int = 0
    missing: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    """Online records holding an older event than the newest: an older or redelivered event
    applied after the newer one. This is what "double-applied" means online."""
    wrong: list[str] = field(default_factory=list)
    """Online records with the right event but other values, or an event never valid."""


def _time_relative_ok(
    name: str, stored: dict[str, str], window: tuple[datetime, datetime], params: FittedParams
) -> bool:
    source, compute = TIME_RELATIVE[name]
    moment = parse_timestamp(stored[source])
    return stored[name] in {value_as_string(compute(moment, at, params)) for at in window}


def check_aggregates(runtime: Any, stats_group: str, valid: Iterable[EncodedEvent]) -> Any:
    """Every customer's online customer-order-stats against a pandas group-by of the valid
    order events sent (each order id once): exact counts and times, amounts within 1e-9."""
    import pandas as pd

    from devstack.rigs.aggregates_check import compare, expected_from_orders, online_records

    rows = []
    for encoded in valid:
        event = parse_event(encoded.data)
        if isinstance(event, OrderEvent):
            data = event.data
            rows.append(
                {
                    "order_id": data.order_id,
                    "customer_id": data.customer_id,
                    "purchase_amount": data.purchase_amount,
                    "is_reordered": int(data.is_reordered),
                    "purchased_on": data.purchased_on.isoformat(),
                }
            )
    if not rows:
        return compare({}, {})
    expected = expected_from_orders(pd.DataFrame(rows))
    return compare(expected, online_records(runtime, stats_group, expected))


def check_online(
    runtime: Any,
    group_names: dict[str, str],
    newest: dict[tuple[str, str], AnyEvent],
    window: tuple[datetime, datetime],
    params: FittedParams,
) -> OnlineVerdict:
    """Read every expected record (BatchGetRecord, 100 ids a call) and classify it."""
    verdict = OnlineVerdict()
    keys = sorted(newest)
    for start in range(0, len(keys), 100):
        chunk = keys[start : start + 100]
        by_group: dict[str, list[str]] = {}
        for group, customer in chunk:
            by_group.setdefault(group, []).append(customer)
        answer = runtime.batch_get_record(
            Identifiers=[
                {"FeatureGroupName": group_names[g], "RecordIdentifiersValueAsString": ids}
                for g, ids in by_group.items()
            ]
        )
        names = {v: k for k, v in group_names.items()}
        stored_rows = {
            (names[item["FeatureGroupName"]], item["RecordIdentifierValueAsString"]): {
                f["FeatureName"]: f["ValueAsString"] for f in item["Record"]
            }
            for item in answer.get("Records", [])
        }
        for key in chunk:
            verdict.checked += 1
            label = f"{key[0]}/{key[1]}"
            event = newest[key]
            stored = stored_rows.get(key)
            if stored is None:
                verdict.missing.append(label)
                continue
            stored_time = parse_timestamp(stored["event_time"])
            if stored_time < event.event_time:
                verdict.stale.append(label)
                continue
            _, features = features_for(event, params=params, as_of=window[0])
            for name, value in features.items():
                if name in TIME_RELATIVE:
                    ok = _time_relative_ok(name, stored, window, params)
                else:
                    ok = stored.get(name) == value_as_string(value)
                if not ok:
                    verdict.wrong.append(f"{label}: {name}")
                    break
    return verdict


def _offline_key(spec: FeatureGroupSpec, customer_id: str, event_time: str) -> tuple[str, str, str]:
    return (spec.name, customer_id, parse_timestamp(event_time).isoformat())


@dataclass
class OfflineVerdict:
    rows: int = 0
    lost: list[str] = field(default_factory=list)
    """Valid events with no offline row at all."""
    extra_rows: int = 0
    """Rows beyond one per event (redeliveries written again; the offline store appends)."""
    invalid_rows: int = 0
    """Rows of poison pills (dated in the future): must be 0."""


def check_offline(
    offline_roots: dict[str, Path],
    valid: Iterable[EncodedEvent],
    future_time: str | None,
) -> OfflineVerdict:
    """Count offline rows per event in the hourly partitions these events fall in.

    ``offline_roots``: group → local folder of its offline table (``.../<table>/data``);
    only the partitions of the scenario's events (and of the pills' time) are read.
    """
    import pyarrow.parquet as pq

    events = [parse_event(encoded.data) for encoded in valid]
    wanted = Counter(
        _offline_key(spec_of(e), e.customer_id, e.event_time.isoformat()) for e in events
    )
    customers = {e.customer_id for e in events}
    partitions: set[tuple[str, str]] = {
        (spec_of(e).name, partition_of(int(e.event_time.timestamp() * 1000))) for e in events
    }
    if future_time is not None:
        ms = int(parse_timestamp(future_time).timestamp() * 1000)
        partitions |= {(group, partition_of(ms)) for group in offline_roots}
    seen: Counter[tuple[str, str, str]] = Counter()
    verdict = OfflineVerdict()
    for group, partition in sorted(partitions):
        for path in sorted((offline_roots[group] / partition).glob("*.parquet")):
            table = pq.read_table(path, columns=["customer_id", "event_time"])
            for row in table.to_pylist():
                if row["customer_id"] not in customers:
                    continue
                key = _offline_key(
                    CUSTOMERS if group == CUSTOMERS.name else ORDERS,
                    row["customer_id"],
                    row["event_time"],
                )
                if key in wanted:
                    seen[key] += 1
                    verdict.rows += 1
                else:
                    verdict.invalid_rows += 1
    verdict.lost = [f"{g}/{c}@{t}" for (g, c, t) in wanted if seen[(g, c, t)] == 0]
    verdict.extra_rows = sum(max(0, n - 1) for n in seen.values())
    return verdict


@dataclass
class QuarantineVerdict:
    matched: int = 0
    """Poison pills found in quarantine with the expected reason."""
    missing: list[str] = field(default_factory=list)
    wrong_reason: list[str] = field(default_factory=list)
    unexpected: int = 0
    """Messages that are no injected pill (a valid event quarantined): must be 0."""
    repeats: int = 0
    """Same pill quarantined again after a redelivery (at least once, as in AWS)."""


def check_quarantine(messages: list[dict[str, Any]], pills: list[PoisonPill]) -> QuarantineVerdict:
    """Match messages to pills by payload hash (the full payload, even when truncated)."""
    verdict = QuarantineVerdict()
    by_hash: dict[str, list[dict[str, Any]]] = {}
    for message in messages:
        digest = str(
            message.get("payload_sha256")
            or hashlib.sha256(base64.b64decode(message.get("payload_base64", ""))).hexdigest()
        )
        by_hash.setdefault(digest, []).append(message)
    known = {pill.sha256 for pill in pills}
    verdict.unexpected = sum(len(found) for digest, found in by_hash.items() if digest not in known)
    for pill in pills:
        found = by_hash.get(pill.sha256, [])
        label = f"{pill.stream}/{pill.kind}"
        if not found:
            verdict.missing.append(label)
            continue
        verdict.repeats += len(found) - 1
        if all(
            pill.reason in str(m.get("reason", "")) and m.get("partition_key") == pill.partition_key
            for m in found
        ):
            verdict.matched += 1
        else:
            verdict.wrong_reason.append(f"{label}: {json.dumps([m.get('reason') for m in found])}")
    return verdict
