"""Historical CSV exports → events, tolerant of what real exports contain.

Used by the replay producer, ``featurestream fit`` and the batch transform, so there is one
reading of the CSVs. Tolerated: the unnamed pandas index column (present or absent), extra
columns (whatever their encoding: they are never read), booleans written as
True/False/true/false/1/0/yes/no. A row that cannot be read is reported as a
:class:`RowError` naming file, line and field; it is never dropped silently. That includes
a field that is not UTF-8, a field longer than the csv module's limit, and a second row
with an id already seen (two different orders must not share an event id). The
``event_time`` column of the exports is the export timestamp, not business time, so
events take their time from ``active_since`` / ``purchased_on``.
"""

import csv
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import IO, Any, Final, Generic, NamedTuple, TypeVar

from pydantic import ValidationError

from featurestream.contract.events import (
    SCHEMA_VERSION,
    CustomerEvent,
    OrderEvent,
    event_id_for,
)
from featurestream.contract.timeutil import parse_timestamp

REPLAY_SOURCE: Final = "replay"

_TRUE: Final = frozenset({"true", "1", "yes", "t", "y"})
_NOT_UTF8: Final = re.compile("[\udc80-\udcff]")
"""Bytes that are not UTF-8 decode to these lone surrogates (``errors="surrogateescape"``)."""
_FALSE: Final = frozenset({"false", "0", "no", "f", "n"})

E = TypeVar("E", CustomerEvent, OrderEvent)


class SourceFileError(ValueError):
    """The file as a whole cannot be read (missing, a required column absent, or a row
    that leaves the rest of the file unreadable)."""


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
        if not text.isascii() and _NOT_UTF8.search(text):
            raise _FieldError(name, "not valid UTF-8 (is the file in another encoding?)")
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


def _open(path: Path) -> IO[str]:
    """Bytes that are not UTF-8 become lone surrogates instead of an exception, so the
    row and field holding them can be named (:data:`_NOT_UTF8`)."""
    return path.open(newline="", encoding="utf-8-sig", errors="surrogateescape")


def _read(
    path: Path, fields: _Fields, to_event: Callable[[dict[str, Any]], E], key: str
) -> Iterator[SourceRow[E] | RowError]:
    try:
        handle = _open(path)
    except OSError as error:
        raise SourceFileError(f"{path}: cannot open ({error.strerror})") from error
    with handle:
        reader = csv.reader(handle)
        try:
            header = [name.strip() for name in next(reader, [])]
        except csv.Error as error:
            raise SourceFileError(f"{path}:1: header: not readable as CSV ({error})") from error
        missing = [name for name, _ in fields if name not in header]
        if missing:
            raise SourceFileError(f"{path}:1: missing column(s): {', '.join(missing)}")
        positions = tuple(header.index(name) for name, _ in fields)
        where = str(path)
        seen: dict[str, int] = {}
        line = reader.line_num
        while True:
            try:
                for values in reader:
                    if not values:  # a blank line, as DictReader skips it
                        continue
                    line = reader.line_num
                    try:
                        converted = _convert(values, positions, fields)
                        event = to_event(converted)
                    except _FieldError as error:
                        yield RowError(where, line, error.field, str(error))
                        continue
                    except ValidationError as error:
                        yield _row_error_from_validation(where, line, error)
                        continue
                    first = seen.setdefault(converted[key], line)
                    if first == line:
                        yield SourceRow(where, line, event)
                    else:
                        yield RowError(where, line, key, f"duplicate of line {first}")
                return
            except csv.Error as error:
                yield _unparsable(path, header, line + 1, reader.line_num, error)
                line = reader.line_num


def _row_error_from_validation(path: str, line: int, error: ValidationError) -> RowError:
    """The first problem with a CSV field (under ``data``); the envelope is derived from
    those fields (a bad customer_id also makes a bad event_id), so it comes second."""
    problems = error.errors(include_url=False, include_input=False)
    first = next((p for p in problems if p["loc"][:1] == ("data",)), problems[0])
    location = [str(part) for part in first["loc"]]
    field = location[-1] if location else "row"
    return RowError(path, line, field, first["msg"])


def _unparsable(path: Path, header: list[str], first: int, last: int, error: csv.Error) -> RowError:
    """The row on lines ``first``..``last`` that csv gave up on, naming the field at fault.

    csv abandons a row at a field longer than its limit and resumes at the next line: a
    row error when the row ends on that line, a :class:`SourceFileError` when the field
    runs on inside quotes (the following lines would be misread as rows).
    """
    limit = csv.field_size_limit()
    if "field limit" not in str(error):
        raise SourceFileError(f"{path}:{last}: not readable as CSV ({error})") from error
    with _open(path) as handle:
        text = "".join(islice(handle, first - 1, last))
    column, runs_on = _long_field(text, limit)
    name = header[column] if column < len(header) and header[column] else f"column {column + 1}"
    if runs_on:
        raise SourceFileError(
            f"{path}:{last}: {name}: longer than {limit} characters, in quotes that do not "
            "close on this line; the rest of the file cannot be read reliably"
        ) from error
    return RowError(str(path), last, name, f"longer than {limit} characters")


def _long_field(text: str, limit: int) -> tuple[int, bool]:
    """The column of the first field over ``limit`` characters in a row's text, parsed as
    csv's default dialect parses it, and whether the text ends inside quotes."""
    column = length = 0
    found = -1
    state = "start"  # of a field; or "plain", "quoted", "quote" (a quote inside quotes)
    for char in text:
        if state == "quoted":
            if char == '"':
                state = "quote"
                continue
        elif char == '"' and state == "start":
            state = "quoted"
            continue
        elif char == '"' and state == "quote":  # a doubled quote stands for one
            state = "quoted"
        elif char == ",":
            column, length, state = column + 1, 0, "start"
            continue
        elif char in "\r\n":
            break
        else:
            state = "plain"
        length += 1
        if found < 0 and length > limit:
            found = column
    return max(found, 0), state == "quoted"


def read_customer_events(path: Path) -> Iterator[SourceRow[CustomerEvent] | RowError]:
    """Customer registration events from a customers CSV export, row by row."""
    return _read(path, CUSTOMER_FIELDS, customer_event, key="customer_id")


def read_order_events(path: Path) -> Iterator[SourceRow[OrderEvent] | RowError]:
    """Order events from an orders CSV export, row by row."""
    return _read(path, ORDER_FIELDS, order_event, key="order_id")
