"""Reading CSV exports: tolerant of real-world shapes, precise about bad rows."""

from pathlib import Path

import pytest

from featurestream.contract.events import CustomerEvent
from producers.sources import (
    RowError,
    SourceFileError,
    SourceRow,
    parse_bool,
    read_customer_events,
    read_order_events,
)

CUSTOMERS_WITH_INDEX = """\
,customer_id,name,sex,state,age,is_married,active_since,event_time
0,C1,Jane Roe,F,Ohio,30,True,2016-03-07 10:30:59,2022-01-01T00:00:00.000Z
1,C2,John Doe,M,Utah,90,false,2017-01-01 00:00:00,2022-01-01T00:00:00.001Z
"""

CUSTOMERS_NO_INDEX_EXTRA_COLUMNS = """\
customer_id,loyalty_tier,sex,age,is_married,active_since
C1,gold,F,30,1,2016-03-07 10:30:59
C2,,M,90,0,2017-01-01T00:00:00Z
"""


def write(tmp_path: Path, text: str, name: str = "export.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def events(rows: list[SourceRow[CustomerEvent] | RowError]) -> list[CustomerEvent]:
    return [row.event for row in rows if isinstance(row, SourceRow)]


def test_index_column_optional_and_extra_columns_ignored(tmp_path: Path) -> None:
    with_index = events(list(read_customer_events(write(tmp_path, CUSTOMERS_WITH_INDEX, "a.csv"))))
    without = events(
        list(read_customer_events(write(tmp_path, CUSTOMERS_NO_INDEX_EXTRA_COLUMNS, "b.csv")))
    )
    assert [e.data for e in with_index] == [e.data for e in without]
    assert with_index[0].event_id == "customer.registered:C1"
    assert with_index[0].event_time == with_index[0].data.active_since
    assert "Jane" not in with_index[0].model_dump_json()


@pytest.mark.parametrize(
    ("text", "value"),
    [("True", True), ("true", True), ("1", True), ("yes", True), ("False", False), ("0", False)],
)
def test_boolean_spellings(text: str, value: bool) -> None:
    assert parse_bool(text) is value


def test_bad_rows_name_file_line_and_field(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        ",customer_id,sex,age,is_married,active_since\n"
        "0,C1,F,thirty,True,2016-03-07 10:30:59\n"
        "1,C2,F,40,maybe,2016-03-07 10:30:59\n"
        "2,C3,F,40,True,\n"
        "3,C4,Q,40,True,2016-03-07 10:30:59\n"
        "4,C5,F,40,True,2016-03-07 10:30:59\n",
    )
    rows = list(read_customer_events(path))
    errors = [row for row in rows if isinstance(row, RowError)]
    assert [(e.line, e.field) for e in errors] == [
        (2, "age"),
        (3, "is_married"),
        (4, "active_since"),
        (5, "sex"),
    ]
    assert str(errors[0]).startswith(f"{path}:2: age: ")
    assert "missing value" in errors[2].message
    assert [e.data.customer_id for e in events(rows)] == ["C5"]  # nothing else is dropped


def test_order_rows(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        ",order_id,customer_id,product_id,purchase_amount,is_reordered,purchased_on,event_time\n"
        "0,O9,C1,P3,40.48,0,2021-04-06 09:24:55,2022-01-01T00:00:00.000Z\n"
        "1,O10,C1,P3,-1,1,2021-04-07 09:24:55,2022-01-01T00:00:00.001Z\n",
    )
    good, bad = list(read_order_events(path))
    assert isinstance(good, SourceRow)
    assert good.line == 2
    assert good.event.data.purchase_amount == 40.48
    assert good.event.data.is_reordered is False
    assert good.event.event_id == "order.placed:O9"
    assert isinstance(bad, RowError)
    assert (bad.line, bad.field) == (3, "purchase_amount")


def test_missing_column_or_file_is_a_file_error(tmp_path: Path) -> None:
    path = write(tmp_path, "customer_id,sex\nC1,F\n")
    with pytest.raises(SourceFileError, match=r"export.csv:1: missing column\(s\): age"):
        list(read_customer_events(path))
    with pytest.raises(SourceFileError, match="cannot open"):
        list(read_customer_events(tmp_path / "absent.csv"))


def test_short_row_names_the_first_missing_field(tmp_path: Path) -> None:
    path = write(tmp_path, "customer_id,sex,age,is_married,active_since\nC1,F,30\n")
    (error,) = list(read_customer_events(path))
    assert isinstance(error, RowError)
    assert (error.line, error.field, error.message) == (2, "is_married", "missing value")


def test_blank_lines_are_skipped_and_line_numbers_stay_true(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "customer_id,sex,age,is_married,active_since\n"
        "C1,F,30,True,2016-03-07 10:30:59\n\n"
        "C2,F,forty,True,2016-03-07 10:30:59\n",
    )
    rows = list(read_customer_events(path))
    assert [type(row).__name__ for row in rows] == ["SourceRow", "RowError"]
    assert (rows[0].line, rows[1].line) == (2, 4)
