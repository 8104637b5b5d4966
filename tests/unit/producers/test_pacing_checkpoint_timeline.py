from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from producers.checkpoint import Checkpoint, CheckpointError, fingerprint
from producers.pacing import Pacer
from producers.sources import RowError, SourceFileError
from producers.timeline import read_timeline
from tests.unit.producers.support import (
    CUSTOMER_HEADER,
    ORDER_HEADER,
    customer_row,
    order_row,
    write_csv,
)

T0 = datetime(2021, 1, 1, tzinfo=UTC)


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_speedup_spaces_events_by_event_time_divided_by_n() -> None:
    clock = FakeClock()
    pacer = Pacer(speedup=3600, clock=clock)
    assert pacer.delay_for(T0) == 0
    assert pacer.delay_for(T0 + timedelta(hours=2)) == pytest.approx(2.0)
    clock.now += 2.0
    assert pacer.delay_for(T0 + timedelta(hours=2, minutes=30)) == pytest.approx(0.5)


def test_rate_caps_events_per_second() -> None:
    clock = FakeClock()
    pacer = Pacer(rate=4, clock=clock)
    delays = [pacer.delay_for(T0) for _ in range(5)]
    assert delays == pytest.approx([0, 0.25, 0.5, 0.75, 1.0])


def test_no_pacing_means_no_waiting() -> None:
    pacer = Pacer()
    assert not pacer.active
    assert pacer.delay_for(T0) <= 0


def test_checkpoint_round_trip_and_refuses_other_inputs(tmp_path: Path) -> None:
    source = write_csv(
        tmp_path / "c.csv", CUSTOMER_HEADER, [customer_row(0, "C1", "2020-01-01 00:00:00")]
    )
    fp = fingerprint([source], {"only": None})
    path = tmp_path / "ckpt.json"
    Checkpoint.open(path, fp).save(42)
    assert Checkpoint.open(path, fp).position == 42
    assert fingerprint([source], {"only": "customers"}) != fp
    source.write_text(source.read_text() + customer_row(1, "C2", "2020-01-02 00:00:00") + "\n")
    with pytest.raises(CheckpointError, match="other input files"):
        Checkpoint.open(path, fingerprint([source], {"only": None}))
    path.write_text("garbage")
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        Checkpoint.open(path, fp)


def test_timeline_is_in_event_time_order_customers_first_on_ties(tmp_path: Path) -> None:
    customers = write_csv(
        tmp_path / "customers.csv",
        CUSTOMER_HEADER,
        [
            customer_row(0, "C2", "2020-05-01 00:00:00"),
            customer_row(1, "C1", "2020-01-01 00:00:00"),
        ],
    )
    orders = write_csv(
        tmp_path / "orders.csv",
        ORDER_HEADER,
        [
            order_row(0, "O2", "C1", "2021-01-01 00:00:00"),
            order_row(1, "O1", "C2", "2020-05-01 00:00:00"),  # same instant as C2's registration
        ],
    )
    bad: list[RowError] = []
    timeline = read_timeline([("customers", customers), ("orders", orders)], on_bad_row=bad.append)
    assert [item.event.event_id for item in timeline.events] == [
        "customer.registered:C1",
        "customer.registered:C2",
        "order.placed:O1",
        "order.placed:O2",
    ]
    assert timeline.rows_read == {"customers": 2, "orders": 2} and bad == []


def test_timeline_reports_bad_rows_with_file_line_and_field(tmp_path: Path) -> None:
    customers = write_csv(
        tmp_path / "customers.csv",
        CUSTOMER_HEADER,
        [
            customer_row(0, "C1", "2020-01-01 00:00:00"),
            customer_row(1, "C2", "2020-01-01 00:00:00", age="seven"),
            customer_row(2, "C3", "not a time"),
        ],
    )
    bad: list[RowError] = []
    timeline = read_timeline([("customers", customers)], on_bad_row=bad.append)
    assert [(Path(r.path).name, r.line, r.field) for r in bad] == [
        ("customers.csv", 3, "age"),
        ("customers.csv", 4, "active_since"),
    ]
    assert len(timeline.events) == 1


def test_timeline_window_is_since_inclusive_until_exclusive(tmp_path: Path) -> None:
    orders = write_csv(
        tmp_path / "orders.csv",
        ORDER_HEADER,
        [order_row(n, f"O{n}", "C1", f"2021-01-0{n} 00:00:00") for n in range(1, 5)],
    )
    timeline = read_timeline(
        [("orders", orders)],
        since=datetime(2021, 1, 2, tzinfo=UTC),
        until=datetime(2021, 1, 4, tzinfo=UTC),
        on_bad_row=lambda row: None,
    )
    assert [i.event.event_id for i in timeline.events] == ["order.placed:O2", "order.placed:O3"]
    assert timeline.outside_window == 2


def test_missing_file_is_a_source_error(tmp_path: Path) -> None:
    with pytest.raises(SourceFileError, match="cannot open"):
        read_timeline([("orders", tmp_path / "nope.csv")], on_bad_row=lambda row: None)


def test_as_live_shifts_every_instant_by_one_constant_and_keeps_ids(tmp_path: Path) -> None:
    import json

    customers = write_csv(
        tmp_path / "customers.csv",
        CUSTOMER_HEADER,
        [customer_row(0, "C1", "2020-01-01 00:00:00")],
    )
    orders = write_csv(
        tmp_path / "orders.csv",
        ORDER_HEADER,
        [
            order_row(0, "O1", "C1", "2021-12-31 23:58:25"),
            order_row(1, "O2", "C1", "2021-06-01 12:00:00"),
        ],
    )
    sources = [("customers", customers), ("orders", orders)]
    plain = read_timeline(sources, on_bad_row=lambda row: None)
    live_at = datetime(2026, 12, 6, 4, 0, 0, tzinfo=UTC)
    live = read_timeline(sources, on_bad_row=lambda row: None, as_live_at=live_at)
    shift = live_at - datetime(2021, 12, 31, 23, 58, 25, tzinfo=UTC)
    assert live.shift == shift
    assert [e.event.event_id for e in live.events] == [e.event.event_id for e in plain.events]
    assert live.events[-1].event_time == live_at  # the newest event lands at the given moment
    for before, after in zip(plain.events, live.events, strict=True):
        assert after.event_time - before.event_time == shift
        old, new = json.loads(before.event.data), json.loads(after.event.data)
        for key in ("active_since", "purchased_on"):
            if key in old["data"]:
                moved = datetime.fromisoformat(new["data"][key]) - datetime.fromisoformat(
                    old["data"][key]
                )
                assert moved == shift
                old["data"][key] = new["data"][key]
        assert {**old, "event_time": None} == {**new, "event_time": None}  # nothing else moved


def test_the_as_live_shift_is_whole_milliseconds(tmp_path: Path) -> None:
    """Event times travel at millisecond precision: a shift with microseconds would leave the
    written instants off from original + shift (the demo's aggregates check compares them)."""
    orders = write_csv(
        tmp_path / "orders.csv", ORDER_HEADER, [order_row(0, "O1", "C1", "2021-12-31 23:58:25")]
    )
    live_at = datetime(2026, 12, 6, 4, 0, 0, 123456, tzinfo=UTC)
    live = read_timeline([("orders", orders)], on_bad_row=lambda row: None, as_live_at=live_at)
    assert live.shift == datetime(2026, 12, 6, 4, 0, 0, 123000, tzinfo=UTC) - datetime(
        2021, 12, 31, 23, 58, 25, tzinfo=UTC
    )
