"""Reading the historical CSVs whole, failing loudly on rows that cannot be read."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from featurestream.contract.events import CustomerEvent, OrderEvent
from producers.sources import (
    RowError,
    SourceRow,
    read_customer_events,
    read_order_events,
)

E = TypeVar("E", CustomerEvent, OrderEvent)

MAX_ERRORS_SHOWN = 10


class HistoryError(ValueError):
    """Some rows of the history could not be read; the message lists them."""


@dataclass(frozen=True)
class History:
    """Both exports as events, in file order."""

    customers: list[CustomerEvent]
    orders: list[OrderEvent]

    @property
    def end(self) -> datetime:
        """The business time of the newest event: the natural "as of" for the history."""
        return max(event.event_time for event in [*self.customers, *self.orders])


def _collect(rows: Iterable[SourceRow[E] | RowError]) -> list[E]:
    events: list[E] = []
    errors: list[RowError] = []
    for row in rows:
        if isinstance(row, RowError):
            errors.append(row)
        else:
            events.append(row.event)
    if errors:
        shown = "\n".join(f"  {error}" for error in errors[:MAX_ERRORS_SHOWN])
        more = len(errors) - MAX_ERRORS_SHOWN
        suffix = f"\n  … and {more} more" if more > 0 else ""
        raise HistoryError(f"{len(errors)} row(s) cannot be read:\n{shown}{suffix}")
    return events


def read_customers(path: Path) -> list[CustomerEvent]:
    return _collect(read_customer_events(path))


def read_orders(path: Path) -> list[OrderEvent]:
    return _collect(read_order_events(path))


def read_history(customers: Path, orders: Path) -> History:
    return History(read_customers(customers), read_orders(orders))
