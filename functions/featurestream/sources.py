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
from typing import Any, Final, Generic, NamedTuple, TypeVar

from pydantic import ValidationError

from featurestream.events import (
    SCHEMA_VERSION,
    CustomerEvent,
    OrderEvent,
    event_id_for,
)
from featurestream.timeutil import parse_timestamp

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


class SourceRow(NamedTuple, Generic[E]):
    """One event read from a CSV, with the line it came from.

    A named tuple rather than a frozen dataclass: one is built per row on the replay
    producer's hot path, and a tuple is built in C.
    """

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


_Converter = Callable[[str], Any]
_Fields = tuple[tuple[str, _Converter], ...]

CUSTOMER_FIELDS: Final[_Fields] = (
    ("customer_id", str),
    ("sex", str),
    ("age", int),
    ("is_married", parse_bool),
    ("active_since", parse_timestamp),
)
ORDER_FIELDS: Final[_Fields] = (
    ("order_id", str),
    ("customer_id", str),
    ("product_id", str),
    ("purchase_amount", float),
    ("is_reordered", parse_bool),
    ("purchased_on", parse_timestamp),
)


def _convert(values: list[str], positions: tuple[int, ...], fields: _Fields) -> dict[str, Any]:
    """The row's fields, converted; a :class:`_FieldError` names the first bad one.

    One loop over positional values rather than a call per field on a ``DictReader`` row:
    this is the replay producer's inner loop, and it halves the cost of reading a row.
    """
    if len(values) <= max(positions):  # a short row: its missing trailing fields are empty
        values = values + [""] * (max(positions) + 1 - len(values))
    converted = {}
    for position, (name, convert) in zip(positions, fields, strict=True):
        text = values[position].strip()
        if not text:
            raise _FieldError(name, "missing value")
        try:
            converted[name] = convert(text)
        except ValueError as error:
            raise _FieldError(name, f"not {_EXPECTED.get(convert, 'a valid value')}") from error
    return converted


def customer_event(data: dict[str, Any]) -> CustomerEvent:
    """A ``customer.registered`` event for a row's fields; its business time is
    ``active_since``."""
    return CustomerEvent.model_validate(
        {
            "event_id": event_id_for("customer.registered", data["customer_id"]),
            "schema_version": SCHEMA_VERSION,
            "event_type": "customer.registered",
            "event_time": data["active_since"],
            "source": REPLAY_SOURCE,
            "data": data,
        }
    )


def order_event(data: dict[str, Any]) -> OrderEvent:
    """An ``order.placed`` event for a row's fields; its business time is ``purchased_on``."""
    return OrderEvent.model_validate(
        {
            "event_id": event_id_for("order.placed", data["order_id"]),
            "schema_version": SCHEMA_VERSION,
            "event_type": "order.placed",
            "event_time": data["purchased_on"],
            "source": REPLAY_SOURCE,
            "data": data,
        }
    )


def _read(
    path: Path, fields: _Fields, to_event: Callable[[dict[str, Any]], E]
) -> Iterator[SourceRow[E] | RowError]:
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as error:
        raise SourceFileError(f"{path}: cannot open ({error.strerror})") from error
    with handle:
        reader = csv.reader(handle)
        header = [name.strip() for name in next(reader, [])]
        missing = [name for name, _ in fields if name not in header]
        if missing:
            raise SourceFileError(f"{path}:1: missing column(s): {', '.join(missing)}")
        positions = tuple(header.index(name) for name, _ in fields)
        where = str(path)
        for values in reader:
            if not values:  # a blank line, as DictReader skips it
                continue
            line = reader.line_num
            try:
                yield SourceRow(where, line, to_event(_convert(values, positions, fields)))
            except _FieldError as error:
                yield RowError(where, line, error.field, str(error))
            except ValidationError as error:
                yield _row_error_from_validation(where, line, error)


def _row_error_from_validation(path: str, line: int, error: ValidationError) -> RowError:
    first = error.errors(include_url=False, include_input=False)[0]
    location = [str(part) for part in first["loc"]]
    field = location[-1] if location else "row"
    return RowError(path, line, field, first["msg"])


def read_customer_events(path: Path) -> Iterator[SourceRow[CustomerEvent] | RowError]:
    """Customer registration events from a customers CSV export, row by row."""
    return _read(path, CUSTOMER_FIELDS, customer_event)


def read_order_events(path: Path) -> Iterator[SourceRow[OrderEvent] | RowError]:
    """Order events from an orders CSV export, row by row."""
    return _read(path, ORDER_FIELDS, order_event)
