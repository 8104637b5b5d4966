"""The backfill's plan: which entries, to which stores, with which values and as_of."""

from datetime import UTC, datetime
from pathlib import Path

import pytest

from featurestream.contract.params import load_params
from featurestream.contract.timeutil import days_between
from producers.backfill.plan import plan_backfill
from producers.sources import RowError
from tests.unit.producers.support import (
    CUSTOMER_HEADER,
    ORDER_HEADER,
    customer_row,
    order_row,
    write_csv,
)

NAMES = {"customers": "fc", "orders": "fo"}
AS_OF = datetime(2022, 6, 1, 8, 0, tzinfo=UTC)


def exports(tmp_path: Path) -> tuple[Path, Path]:
    customers = write_csv(
        tmp_path / "customers.csv",
        CUSTOMER_HEADER,
        [
            customer_row(0, "C1", "2020-01-01 10:00:00"),
            customer_row(1, "C2", "2020-02-01 10:00:00"),
        ],
    )
    orders = write_csv(
        tmp_path / "orders.csv",
        ORDER_HEADER,
        [
            order_row(0, "O3", "C1", "2021-03-01 12:00:00"),  # C1's newest, written first
            order_row(1, "O1", "C1", "2021-01-01 12:00:00"),
            order_row(2, "O2", "C1", "2021-02-01 12:00:00"),
            order_row(3, "O4", "C2", "2021-05-01 12:00:00"),  # C2: two orders, same time
            order_row(4, "O5", "C2", "2021-05-01 12:00:00"),
            order_row(5, "O6", "C2", "2021-04-01 12:00:00"),
        ],
    )
    return customers, orders


def plan(tmp_path: Path, *, offline_only: bool, **kwargs):
    customers, orders = exports(tmp_path)
    return plan_backfill(
        [("customers", customers), ("orders", orders)],
        NAMES,
        params=load_params(),
        as_of=kwargs.pop("as_of", AS_OF),
        offline_only_history=offline_only,
        on_bad_row=kwargs.pop("on_bad_row", lambda row: pytest.fail(str(row))),
        **kwargs,
    )


def values(entry) -> dict[str, str]:
    return {f["FeatureName"]: f["ValueAsString"] for f in entry["Record"]}


def by_order(entries) -> dict[str, dict]:
    return {values(e)["order_id"]: e for e in entries if e["FeatureGroupName"] == "fo"}


def test_every_event_is_one_entry_in_event_time_order(tmp_path):
    result = plan(tmp_path, offline_only=True)
    assert result.events == len(result.entries) == 8
    times = [values(e)["event_time"] for e in result.entries]
    assert times == sorted(times)
    assert result.records == {"fc": 2, "fo": 2}
    assert result.rows_read == {"customers": 2, "orders": 6}


def test_offline_only_history_writes_each_records_newest_to_both_stores_and_the_rest_offline(
    tmp_path,
):
    result = plan(tmp_path, offline_only=True)
    orders = by_order(result.entries)
    both = {order for order, entry in orders.items() if "TargetStores" not in entry}
    # C1's newest is O3; C2's newest time is shared by O4 and O5: the first in file order wins
    # (a tie is not applied online, so a replay leaves the first one there too)
    assert both == {"O3", "O4"}
    for order in ("O1", "O2", "O5", "O6"):
        assert orders[order]["TargetStores"] == ["OfflineStore"]
    customers = [e for e in result.entries if e["FeatureGroupName"] == "fc"]
    assert all("TargetStores" not in e for e in customers)


def test_without_the_flag_history_goes_to_both_stores_except_ties_with_the_newest(tmp_path):
    orders = by_order(plan(tmp_path, offline_only=False).entries)
    both = {order for order, entry in orders.items() if "TargetStores" not in entry}
    assert both == {"O1", "O2", "O3", "O4", "O6"}
    assert orders["O5"]["TargetStores"] == ["OfflineStore"]


def test_time_relative_features_follow_the_stream_as_of_rule(tmp_path):
    params = load_params()
    result = plan(tmp_path, offline_only=True)
    scaler = params.scaler("n_days_active")
    c1 = next(values(e) for e in result.entries if values(e)["customer_id"] == "C1")
    expected_days = (AS_OF.date() - datetime(2020, 1, 1).date()).days
    assert float(c1["n_days_active"]) == pytest.approx(scaler.scale(expected_days))
    # an event dated after the processing time is as of its own time: never negative
    early = datetime(2020, 1, 15, tzinfo=UTC)
    result = plan(tmp_path, offline_only=True, as_of=early)
    o3 = values(by_order(result.entries)["O3"])
    recency = params.scaler("n_days_since_last_purchase")
    assert float(o3["n_days_since_last_purchase"]) == pytest.approx(recency.scale(0))
    assert days_between(datetime(2021, 3, 1, tzinfo=UTC), early) < 0  # the clamp mattered


def test_since_until_and_bad_rows(tmp_path):
    seen: list[RowError] = []
    _, orders = exports(tmp_path)
    with orders.open("a") as handle:
        handle.write("9,O9,C1,P1,not-a-number,0,2021-06-01 00:00:00,x\n")
    result = plan_backfill(
        [("orders", orders)],
        NAMES,
        params=load_params(),
        as_of=AS_OF,
        offline_only_history=True,
        since=datetime(2021, 2, 1, tzinfo=UTC),
        until=datetime(2021, 5, 1, tzinfo=UTC),
        on_bad_row=seen.append,
    )
    assert set(by_order(result.entries)) == {"O2", "O3", "O6"}
    assert result.outside_window == 3
    assert [(Path(r.path).name, r.line, r.field) for r in seen] == [
        ("orders.csv", 8, "purchase_amount")
    ]
