"""What a backfill writes: every group's records from the exports, computed by the library's
transforms with the stream functions' ``as_of`` rule, in one deterministic order.

Per record identifier, the newest event (greatest event time; among equal times the first
in timeline order, since the Feature Store applies a write online only when its event time
is newer) is written to both stores. Every other event is history: with
``offline_only_history`` it goes with ``TargetStores=["OfflineStore"]`` (one online write
per record); without, to both stores as a replay would send it, except events tied with the
newest (which a replay would not apply online either), which go offline only. Either way
the online store ends as a replay leaves it and the offline store holds one row per event.

The order is the timeline's (event time, customers before orders, file line), so a
checkpoint position means the same entry on every run over the same inputs.
"""

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Final, Literal

from featurestream.contract.catalog import CUSTOMERS, ORDERS, FeatureGroupSpec
from featurestream.contract.events import CustomerEvent, OrderEvent
from featurestream.contract.params import FittedParams
from featurestream.contract.transforms import features_for, to_record
from producers.sources import RowError, SourceRow, read_customer_events, read_order_events

GroupKind = Literal["customers", "orders"]
GROUP_SPECS: Final[dict[GroupKind, FeatureGroupSpec]] = {"customers": CUSTOMERS, "orders": ORDERS}
OFFLINE_ONLY: Final = ("OfflineStore",)

Entry = dict[str, Any]
"""One ``BatchWriteRecord`` entry: ``FeatureGroupName``, ``Record``, maybe ``TargetStores``."""


@dataclass
class Plan:
    """The entries in write order, plus what reading saw."""

    entries: list[Entry] = field(default_factory=list)
    rows_read: dict[str, int] = field(default_factory=dict)
    outside_window: int = 0
    events: int = 0
    records: dict[str, int] = field(default_factory=dict)
    """Distinct record identifiers per feature group name (the online store's rows)."""


def _rows(kind: GroupKind, path: Path) -> Iterator[SourceRow[Any] | RowError]:
    if kind == "customers":
        yield from read_customer_events(path)
    else:
        yield from read_order_events(path)


def plan_backfill(
    sources: Sequence[tuple[GroupKind, Path]],
    group_names: dict[GroupKind, str],
    *,
    params: FittedParams,
    as_of: datetime,
    offline_only_history: bool,
    since: datetime | None = None,
    until: datetime | None = None,
    on_bad_row: Callable[[RowError], None],
) -> Plan:
    """Read the exports (``since`` inclusive, ``until`` exclusive) and build every entry.

    ``as_of`` is the processing time; an event dated after it is as of its own time, as in
    the stream functions. Raises :class:`~producers.sources.SourceFileError` for a file
    that cannot be read; bad rows go to ``on_bad_row`` (which may raise to stop).
    """
    plan = Plan()
    keyed: list[tuple[datetime, int, int, GroupKind, CustomerEvent | OrderEvent]] = []
    for rank, (kind, path) in enumerate(sources):
        count = 0
        for row in _rows(kind, path):
            count += 1
            if isinstance(row, RowError):
                on_bad_row(row)
                continue
            moment: datetime = row.event.event_time
            if (since is not None and moment < since) or (until is not None and moment >= until):
                plan.outside_window += 1
                continue
            keyed.append((moment, rank, row.line, kind, row.event))
        plan.rows_read[kind] = count
    keyed.sort(key=lambda item: item[:3])
    newest: dict[tuple[GroupKind, str], int] = {}
    for index, (moment, _, _, kind, event) in enumerate(keyed):
        key = (kind, event.customer_id)
        best = newest.get(key)
        if best is None or moment > keyed[best][0]:  # a tie keeps the first
            newest[key] = index
    chosen = set(newest.values())
    for index, (moment, _, _, kind, event) in enumerate(keyed):
        spec, features = features_for(event, params=params, as_of=max(as_of, moment))
        if spec is not GROUP_SPECS[kind]:  # the catalog and the sources disagree: a bug
            raise AssertionError(f"{kind} event computed for the {spec.name} group")
        entry: Entry = {"FeatureGroupName": group_names[kind], "Record": to_record(features)}
        if index not in chosen:
            tied = moment == keyed[newest[(kind, event.customer_id)]][0]
            if offline_only_history or tied:
                entry["TargetStores"] = list(OFFLINE_ONLY)
        plan.entries.append(entry)
    plan.events = len(keyed)
    for kind, _ in newest:
        name = group_names[kind]
        plan.records[name] = plan.records.get(name, 0) + 1
    return plan
