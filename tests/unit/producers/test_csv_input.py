"""Hostile CSV input: bad bytes, huge fields, duplicate ids. Each is a row error naming
file, line and field (never the value), or a file error when the rest cannot be read."""

import csv
from pathlib import Path

import pytest

from producers.sources import (
    RowError,
    SourceFileError,
    SourceRow,
    read_customer_events,
    read_order_events,
)
from tests.unit.producers.support import CUSTOMER_HEADER, ORDER_HEADER, customer_row, order_row

LIMIT = csv.field_size_limit()


def write_bytes(path: Path, header: str, rows: list[bytes]) -> Path:
    path.write_bytes(b"\n".join([header.encode(), *rows]) + b"\n")
    return path


def outcome(rows: list[SourceRow | RowError]) -> list[str]:
    return [str(row) if isinstance(row, RowError) else row.event.event_id for row in rows]


def test_bytes_that_are_not_utf8_are_named_by_line_and_field(tmp_path: Path) -> None:
    path = write_bytes(
        tmp_path / "customers.csv",
        CUSTOMER_HEADER,
        [
            customer_row(0, "C1", "2020-01-01 10:00:00").encode(),
            customer_row(1, "C2", "2020-01-02 10:00:00").encode().replace(b",40,", b",4\xff0,"),
            # Latin-1 in a column the events never read: the row is fine
            customer_row(2, "C3", "2020-01-03 10:00:00").encode().replace(b"Jane", b"J\xe9r\xf4me"),
        ],
    )
    assert outcome(list(read_customer_events(path))) == [
        "customer.registered:C1",
        f"{path}:3: age: not valid UTF-8 (is the file in another encoding?)",
        "customer.registered:C3",
    ]


def test_a_field_over_the_csv_limit_is_a_row_error_and_reading_goes_on(tmp_path: Path) -> None:
    long_name = customer_row(1, "C2", "2020-01-02 10:00:00").replace("Jane Doe", "J" * LIMIT * 2)
    long_quoted_age = f'2,C3,Jane,F,Ohio,"{"4" * (LIMIT + 1)}",False,2020-01-03 10:00:00,x'
    path = write_bytes(
        tmp_path / "customers.csv",
        CUSTOMER_HEADER,
        [
            customer_row(0, "C1", "2020-01-01 10:00:00").encode(),
            long_name.encode(),
            long_quoted_age.encode(),
            customer_row(3, "C4", "2020-01-04 10:00:00").encode(),
        ],
    )
    assert outcome(list(read_customer_events(path))) == [
        "customer.registered:C1",
        f"{path}:3: name: longer than {LIMIT} characters",
        f"{path}:4: age: longer than {LIMIT} characters",
        "customer.registered:C4",
    ]


def test_a_huge_field_whose_quotes_run_on_refuses_the_file(tmp_path: Path) -> None:
    """Past an unclosed quoted field csv would read the field's next lines as rows."""
    runs_on = f'1,C2,"{"x" * (LIMIT + 5)}\n0,C9,Jane,F,Ohio,40,False,2020-01-09 10:00:00,x",F,Ohio'
    path = write_bytes(
        tmp_path / "customers.csv",
        CUSTOMER_HEADER,
        [customer_row(0, "C1", "2020-01-01 10:00:00").encode(), runs_on.encode()],
    )
    rows = read_customer_events(path)
    assert outcome([next(rows)]) == ["customer.registered:C1"]
    with pytest.raises(SourceFileError) as error:
        next(rows)
    assert str(error.value).startswith(f"{path}:3: name: longer than {LIMIT} characters")
    assert "xxx" not in str(error.value)


def test_a_second_row_with_a_seen_id_is_reported_not_sent_twice(tmp_path: Path) -> None:
    path = write_bytes(
        tmp_path / "orders.csv",
        ORDER_HEADER,
        [
            order_row(0, "O1", "C1", "2021-01-01 10:00:00").encode(),
            order_row(1, "O2", "C1", "2021-01-02 10:00:00").encode(),
            order_row(2, "O1", "C2", "2021-01-03 10:00:00", amount="99").encode(),  # another order
        ],
    )
    assert outcome(list(read_order_events(path))) == [
        "order.placed:O1",
        "order.placed:O2",
        f"{path}:4: order_id: duplicate of line 2",
    ]


def test_a_bad_customer_id_is_reported_under_customer_id(tmp_path: Path) -> None:
    path = write_bytes(
        tmp_path / "customers.csv",
        CUSTOMER_HEADER,
        [customer_row(0, "C 1", "2020-01-01 10:00:00").encode()],
    )
    (row,) = list(read_customer_events(path))
    assert isinstance(row, RowError)
    assert (row.line, row.field) == (2, "customer_id")
    assert "C 1" not in str(row)
