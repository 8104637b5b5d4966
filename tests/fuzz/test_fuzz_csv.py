"""The CSV reader (replay, backfill, transform) turns any file into events and row errors that
name file, line and field, or refuses the whole file naming it: never a traceback, never a
value in a message."""

import csv
import io
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from producers.sources import RowError, SourceFileError, read_order_events
from tests.fuzz.strategies import NAME, hostile_text

HEADER = [
    "",
    "order_id",
    "customer_id",
    "product_id",
    "purchase_amount",
    "is_reordered",
    "purchased_on",
    "event_time",
]
VALID = ["0", "O1", "C1", "P1", "12.5", "False", "2021-03-01 10:00:00", "2021-12-31 00:00:00"]


@st.composite
def order_files(draw: st.DrawFn) -> bytes:
    rows = []
    for index in range(draw(st.integers(0, 4))):
        row = list(VALID)
        row[0], row[1] = str(index), f"O{index}"
        for _ in range(draw(st.integers(0, 3))):
            row[draw(st.integers(0, len(row) - 1))] = draw(hostile_text)
        if draw(st.booleans()):
            row = row[: draw(st.integers(0, len(row)))]
        rows.append(row)
    text = io.StringIO()
    csv.writer(text).writerows([HEADER, *rows])
    data = text.getvalue().encode()
    if draw(st.booleans()):  # raw damage: bad bytes, a stray quote, a cut
        cut = draw(st.integers(0, len(data)))
        data = data[:cut] + draw(st.sampled_from([b"\xff\xfe", b'"', b"\x00", b""])) + data[cut:]
    return data


@given(order_files())
def test_any_orders_file_gives_events_and_named_row_errors(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "orders.csv"
    path.write_bytes(data)
    try:
        items = list(read_order_events(path))
    except SourceFileError as refused:
        assert "orders.csv" in str(refused)
        assert NAME not in str(refused)
        return
    for item in items:
        if isinstance(item, RowError):
            assert item.path.endswith("orders.csv")
            assert item.line >= 2
            assert item.field
            assert NAME not in str(item)
