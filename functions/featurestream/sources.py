"""Historical CSV exports → events, tolerant of what real exports contain.

Used by the replay producer, ``featurestream fit`` and the batch transform, so there is one
reading of the CSVs. Tolerated: the unnamed pandas index column (present or absent), extra
columns, booleans written as True/False/true/false/1/0/yes/no. A row that cannot be read
is reported as a :class:`RowError` naming file, line and field; it is never dropped
silently. The ``event_time`` column of the exports is the export timestamp, not business
time, so events take their time from ``active_since`` / ``purchased_on``.
"""

import csv
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Generic, TypeVar

from pydantic import ValidationError

from featurestream.events import (
    SCHEMA_VERSION,
    CustomerEvent,
    OrderEvent,
    event_id_for,
)
from featurestream.timeutil import parse_timestamp

CUSTOMER_COLUMNS: Final = ("customer_id", "sex", "age", "is_married", "active_since")
ORDER_COLUMNS: Final = (
    "order_id",
    "customer_id",
    "product_id",
    "purchase_amount",
    "is_reordered",
    "purchased_on",
)
REPLAY_SOURCE: Final = "replay"

_TRUE: Final = frozenset({"true", "1", "yes", "t", "y"})
_FALSE: Final = frozenset({"false", "0", "no", "f", "n"})

E = TypeVar("E", CustomerEvent, OrderEvent)


class SourceFileError(ValueError):
    """The file as a whole cannot be read (missing, or a required column is absent)."""


@dataclass(frozen=True)
class RowError:
    """A row that could not become an event: where, which field, and why."""

    path: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.field}: {self.message}"


@dataclass(frozen=True)
class SourceRow(Generic[E]):
    """One event read from a CSV, with the line it came from."""

    path: str
    line: int
    event: E


class _FieldError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def parse_bool(text: str) -> bool:
    """True/False/true/false/1/0/yes/no, as exports spell booleans."""
    lowered = text.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(f"not a boolean: {text!r} (expected True/False, true/false or 1/0)")


# What each converter expects. A row error names this, never the value: a shifted column can
# put a customer's name into any field, and row errors are printed.
_EXPECTED: Final[dict[Callable[[str], Any], str]] = {
    int: "an integer",
    float: "a number",
    parse_bool: "a boolean (True/False, true/false or 1/0)",
    parse_timestamp: "an ISO-8601 timestamp",
}


def _field(row: dict[str, str], name: str, convert: Callable[[str], Any]) -> Any:
    text = row.get(name)
    if text is None or text.strip() == "":
        raise _FieldError(name, "missing value")
    try:
        return convert(text.strip())
    except ValueError as error:
        raise _FieldError(name, f"not {_EXPECTED.get(convert, 'a valid value')}") from error


def customer_event_from_row(row: dict[str, str]) -> CustomerEvent:
    """A ``customer.registered`` event whose business time is ``active_since``."""
    active_since = _field(row, "active_since", parse_timestamp)
    customer_id = _field(row, "customer_id", str)
    return CustomerEvent.model_validate(
        {
            "event_id": event_id_for("customer.registered", customer_id),
            "schema_version": SCHEMA_VERSION,
            "event_type": "customer.registered",
            "event_time": active_since,
            "source": REPLAY_SOURCE,
            "data": {
                "customer_id": customer_id,
                "sex": _field(row, "sex", str),
                "age": _field(row, "age", int),
                "is_married": _field(row, "is_married", parse_bool),
                "active_since": active_since,
            },
        }
    )


def order_event_from_row(row: dict[str, str]) -> OrderEvent:
    """An ``order.placed`` event whose business time is ``purchased_on``."""
    purchased_on = _field(row, "purchased_on", parse_timestamp)
    order_id = _field(row, "order_id", str)
    return OrderEvent.model_validate(
        {
            "event_id": event_id_for("order.placed", order_id),
            "schema_version": SCHEMA_VERSION,
            "event_type": "order.placed",
            "event_time": purchased_on,
            "source": REPLAY_SOURCE,
            "data": {
                "order_id": order_id,
                "customer_id": _field(row, "customer_id", str),
                "product_id": _field(row, "product_id", str),
                "purchase_amount": _field(row, "purchase_amount", float),
                "is_reordered": _field(row, "is_reordered", parse_bool),
                "purchased_on": purchased_on,
            },
        }
    )


def _read(
    path: Path, columns: tuple[str, ...], to_event: Callable[[dict[str, str]], E]
) -> Iterator[SourceRow[E] | RowError]:
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as error:
        raise SourceFileError(f"{path}: cannot open ({error.strerror})") from error
    with handle:
        reader = csv.DictReader(handle)
        header = [name.strip() for name in reader.fieldnames or []]
        missing = [name for name in columns if name not in header]
        if missing:
            raise SourceFileError(f"{path}:1: missing column(s): {', '.join(missing)}")
        reader.fieldnames = header
        for row in reader:
            line = reader.line_num
            try:
                yield SourceRow(str(path), line, to_event(row))
            except _FieldError as error:
                yield RowError(str(path), line, error.field, str(error))
            except ValidationError as error:
                yield _row_error_from_validation(str(path), line, error)


def _row_error_from_validation(path: str, line: int, error: ValidationError) -> RowError:
    first = error.errors(include_url=False, include_input=False)[0]
    location = [str(part) for part in first["loc"]]
    field = location[-1] if location else "row"
    return RowError(path, line, field, first["msg"])


def read_customer_events(path: Path) -> Iterator[SourceRow[CustomerEvent] | RowError]:
    """Customer registration events from a customers CSV export, row by row."""
    return _read(path, CUSTOMER_COLUMNS, customer_event_from_row)


def read_order_events(path: Path) -> Iterator[SourceRow[OrderEvent] | RowError]:
    """Order events from an orders CSV export, row by row."""
    return _read(path, ORDER_COLUMNS, order_event_from_row)
