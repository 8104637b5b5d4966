"""Both CSV exports as one timeline in event-time order.

The exports are not in time order (orders.csv certainly is not), so the whole timeline is
read, encoded and sorted in memory: about 110k events of a few hundred bytes each. Ties
put customers before orders (a registration precedes orders placed in the same instant),
then file line, so the order is deterministic and a checkpoint position means the same
event on every run.
"""

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from featurestream.contract.events import CustomerData, CustomerEvent, OrderData, OrderEvent
from producers.encoding import EncodedEvent, encode_event
from producers.sources import RowError, SourceRow, read_customer_events, read_order_events

SourceKind = Literal["customers", "orders"]
_RANK: dict[SourceKind, int] = {"customers": 0, "orders": 1}


@dataclass(frozen=True, slots=True)
class TimelineEvent:
    """One event of the timeline, already validated and encoded for sending."""

    event_time: datetime
    event: EncodedEvent


@dataclass
class Timeline:
    """The sorted events plus what reading saw: rows per source, rows outside the window."""

    events: list[TimelineEvent] = field(default_factory=list)
    rows_read: dict[str, int] = field(default_factory=dict)
    outside_window: int = 0
    shift: timedelta = timedelta(0)
    """What ``as_live_at`` added to every instant (zero for a plain replay)."""


def shifted(event: CustomerEvent | OrderEvent, by: timedelta) -> CustomerEvent | OrderEvent:
    """The event with every instant it carries moved by ``by``; ids and values unchanged.

    Differences between instants (tenure, recency as of a shifted moment) are kept, so the
    fitted parameters stay valid for the shifted timeline.
    """
    if not by:
        return event
    data: CustomerData | OrderData
    if isinstance(event, CustomerEvent):
        data = event.data.model_copy(update={"active_since": event.data.active_since + by})
    else:
        data = event.data.model_copy(update={"purchased_on": event.data.purchased_on + by})
    return event.model_copy(update={"event_time": event.event_time + by, "data": data})


def _rows(kind: SourceKind, path: Path) -> Iterator[SourceRow[Any] | RowError]:
    if kind == "customers":
        yield from read_customer_events(path)
    else:
        yield from read_order_events(path)


def read_timeline(
    sources: Sequence[tuple[SourceKind, Path]],
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    on_bad_row: Callable[[RowError], None],
    as_live_at: datetime | None = None,
) -> Timeline:
    """Read, validate, sort and encode; ``since`` is inclusive, ``until`` exclusive (both on
    the files' own times). ``as_live_at``: shift the whole timeline by one constant so that
    its newest event is dated ``as_live_at`` (event ids do not depend on time, so they stay).

    Bad rows go to ``on_bad_row`` (which may raise to stop). Raises
    :class:`~producers.sources.SourceFileError` for a missing file or column.
    """
    timeline = Timeline()
    keyed: list[tuple[datetime, int, int, CustomerEvent | OrderEvent]] = []
    for kind, path in sources:
        count = 0
        for row in _rows(kind, path):
            count += 1
            if isinstance(row, RowError):
                on_bad_row(row)
                continue
            event = row.event
            moment: datetime = event.event_time
            if (since is not None and moment < since) or (until is not None and moment >= until):
                timeline.outside_window += 1
                continue
            keyed.append((moment, _RANK[kind], row.line, event))
        timeline.rows_read[kind] = count
    keyed.sort(key=lambda item: item[:3])
    if as_live_at is not None and keyed:
        # whole milliseconds: event times travel at millisecond precision, so every shifted
        # instant stays exactly its original plus the shift
        shift = as_live_at - keyed[-1][0]
        timeline.shift = shift - timedelta(microseconds=shift.microseconds % 1000)
    by = timeline.shift
    timeline.events = [
        TimelineEvent(moment + by, encode_event(shifted(event, by)))
        for moment, _, _, event in keyed
    ]
    return timeline
