"""One day-count definition on every path: an order at 23:59 is 1 day old at 00:01 the next
day (calendar days between UTC dates, as the tutorial's ``get_delta_days`` counts), while a
record's age stays elapsed time (120 seconds). Expected values are worked out by hand."""

import csv
from datetime import UTC, datetime
from pathlib import Path

from click.testing import CliRunner

from featurestream.contract.params import FittedParams, MinMax, content_version
from featurestream.contract.transforms import order_features
from featurestream.serving.request_features import group_view
from featurestream_cli.main import cli
from tests.fixtures.inference import customer_event, order_event
from training.dataset import MODEL_FEATURES, build_training_rows
from training.fit import fit_order_scalers
from training.history import History

LATE = "2021-12-31T23:59:00.000Z"
AS_OF = datetime(2022, 1, 1, 0, 1, tzinfo=UTC)  # two minutes after LATE, on the next date
SCALERS = {
    "n_days_active": MinMax(0.0, 10.0),
    "purchase_amount": MinMax(0.0, 100.0),
    "n_days_since_last_purchase": MinMax(0.0, 4.0),
}
PARAMS = FittedParams(content_version(AS_OF, SCALERS), AS_OF, SCALERS, {})


def _feature(row: tuple[float, ...], name: str) -> float:
    return row[[f.name for f in MODEL_FEATURES].index(name)]


def test_stream_transform() -> None:
    features = order_features(order_event("C1", "O1", LATE), params=PARAMS, as_of=AS_OF)
    assert features["n_days_since_last_purchase"] == 1 / 4


def test_fit() -> None:
    events = [order_event("C1", "O1", LATE), order_event("C2", "O2", "2022-01-01T00:00:00Z")]
    assert fit_order_scalers(events, AS_OF)["n_days_since_last_purchase"] == MinMax(0.0, 1.0)


def test_training_set() -> None:
    registered = customer_event("C1", active_since="2021-12-29T23:59:00.000Z")
    previous = order_event("C1", "O1", LATE)
    labelled = order_event("C1", "O2", "2022-01-01T00:01:00.000Z")
    (row,) = build_training_rows(History([registered], [previous, labelled]), PARAMS)
    assert _feature(row.features, "n_days_since_last_purchase") == 1 / 4
    assert _feature(row.features, "n_days_active") == 3 / 10  # 29th → 1st: three dates on


def test_request_time_recompute_and_record_age() -> None:
    record = {"customer_id": "C1", "order_id": "O1", "event_time": LATE, "purchased_on": LATE}
    view = group_view("orders", record, as_of=AS_OF, params=PARAMS, max_age_seconds=60)
    assert view.values["n_days_since_last_purchase"] == 1 / 4
    assert view.age_seconds == 120.0  # elapsed time, not calendar days
    assert view.stale is True


def test_batch_transform_command(tmp_path: Path) -> None:
    source = tmp_path / "orders.csv"
    source.write_text(
        ",order_id,customer_id,product_id,purchase_amount,is_reordered,purchased_on,event_time\n"
        "0,O1,C1,P1,1.00,0,2021-12-31 23:59:00,2022-01-01T00:00:00.000Z\n"
        "1,O2,C2,P2,9.00,1,2022-01-01 00:00:00,2022-01-01T00:00:00.001Z\n"
    )
    out = tmp_path / "out.csv"
    args = ["transform", "orders", str(source), "-o", str(out), "--as-of", "2022-01-01T00:01Z"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    with out.open() as handle:
        rows = list(csv.DictReader(handle))
    # fitted on the input as of 00:01: 1 day and 0 days scale to 1.0 and 0.0
    assert [r["n_days_since_last_purchase"] for r in rows] == ["1.0", "0.0"]
