"""The training set is point-in-time correct, split by customer, and the model it trains
beats the label-frequency baseline on held-out customers."""

from pathlib import Path

from click.testing import CliRunner

from featurestream.contract.model_contract import load_contract
from featurestream.contract.params import load_params
from featurestream.contract.transforms import customer_features, order_features
from tests.fixtures.inference import customer_event, order_event
from training.dataset import MODEL_FEATURES, build_training_rows, split_by_customer
from training.history import History, read_history

ROOT = Path(__file__).resolve().parents[3]


def _index(name):
    return [f.name for f in MODEL_FEATURES].index(name)


def test_each_row_uses_the_previous_order_and_profile_as_of_the_order_time():
    params = load_params()
    registered = customer_event("C1", age=25, active_since="2016-01-01T00:00:00.000Z")
    # a profile update *after* the orders must not leak into them
    updated = customer_event(
        "C1", age=75, active_since="2016-01-01T00:00:00.000Z", event_time="2021-12-01T00:00:00.000Z"
    )
    third = order_event("C1", "O1", "2021-09-01T00:00:00.000Z", is_reordered=True)
    first = order_event("C1", "O3", "2021-01-01T00:00:00.000Z", is_reordered=False, amount=10.0)
    second = order_event("C1", "O2", "2021-05-01T00:00:00.000Z", is_reordered=True, amount=90.0)
    history = History([updated, registered], [third, first, second])  # files are not in time order

    rows = build_training_rows(history, params)

    assert [r.order_id for r in rows] == ["O2", "O1"]  # the first order has no previous order
    as_of = second.event_time
    expected_customer = customer_features(registered, params=params, as_of=as_of)
    expected_order = order_features(first, params=params, as_of=as_of)
    row = rows[0]
    assert row.label == 1 and row.as_of == as_of
    assert row.features[_index("age_18-29")] == 1
    assert row.features[_index("n_days_active")] == expected_customer["n_days_active"]
    assert row.features[_index("purchase_amount")] == expected_order["purchase_amount"]
    assert row.features[_index("is_reordered")] == 0
    assert row.features[_index("n_days_since_last_purchase")] == params.scaler(
        "n_days_since_last_purchase"
    ).scale(120)  # 2021-01-01 → 2021-05-01
    assert rows[1].features[_index("is_reordered")] == 1  # O2 was reordered


def test_an_order_before_any_profile_is_not_a_row():
    late_profile = customer_event("C2", active_since="2021-06-01T00:00:00.000Z")
    orders = [
        order_event("C2", "O5", "2021-03-01T00:00:00.000Z"),
        order_event("C2", "O6", "2021-04-01T00:00:00.000Z"),
    ]
    assert build_training_rows(History([late_profile], orders), load_params()) == []


def test_holdout_is_split_by_customer():
    params = load_params()
    customers = [customer_event(f"C{n}") for n in range(1, 11)]
    orders = [
        order_event(f"C{n}", f"O{n}{k}", f"2021-0{k}-01T00:00:00.000Z")
        for n in range(1, 11)
        for k in range(1, 4)
    ]
    train, holdout = split_by_customer(build_training_rows(History(customers, orders), params))
    assert {r.customer_id for r in holdout} == {"C5", "C10"}
    assert not {r.customer_id for r in train} & {r.customer_id for r in holdout}


def _subset(src: Path, dst: Path, keep) -> None:
    lines = src.read_text().splitlines(keepends=True)
    dst.write_text(
        lines[0]
        + "".join(
            line for line in lines[1:] if keep(line.split(",")[1 if "customers" in src.name else 2])
        )
    )


def test_train_command_beats_the_baseline_on_held_out_customers(tmp_path):
    """Trains on a fifth of the customers (for speed) and saves a servable artifact."""
    keep = lambda cid: int(cid[1:]) <= 2000  # noqa: E731
    _subset(ROOT / "raw/customers.csv", tmp_path / "customers.csv", keep)
    _subset(ROOT / "raw/orders.csv", tmp_path / "orders.csv", keep)
    model_dir = tmp_path / "model"

    result = CliRunner().invoke(
        __import__("featurestream_cli.main", fromlist=["cli"]).cli,
        [
            "train",
            "--customers",
            str(tmp_path / "customers.csv"),
            "--orders",
            str(tmp_path / "orders.csv"),
            "--model-dir",
            str(model_dir),
            "--no-lambda-contract",
        ],
    )

    assert result.exit_code == 0, result.output
    model_line = next(line for line in result.output.splitlines() if line.startswith("model "))
    baseline_line = next(line for line in result.output.splitlines() if line.startswith("baseline"))
    auc, loss = map(float, model_line.split()[1:3])
    base_auc, base_loss = map(float, baseline_line.split()[-2:])
    assert auc > 0.67 and auc > base_auc + 0.15
    assert loss < base_loss - 0.03
    assert (model_dir / "model.joblib").is_file() and (model_dir / "feature_list.json").is_file()
    # the manifest records the training set's window: its first and last label time
    rows = build_training_rows(
        read_history(tmp_path / "customers.csv", tmp_path / "orders.csv"), load_params()
    )
    window = load_contract(model_dir / "feature_list.json").training_window()
    assert window == (min(r.as_of for r in rows), max(r.as_of for r in rows))


def test_the_lambda_ships_the_committed_models_contract_with_the_shipped_params():
    shipped = (ROOT / "functions/featurestream/contract/model_contract.json").read_text()
    assert shipped == (ROOT / "model/feature_list.json").read_text()
    contract = load_contract()
    assert contract.params_version == load_params().version
    assert [(f.name, f.group) for f in contract.features] == [
        (f.name, f.group) for f in MODEL_FEATURES
    ]
    assert (
        contract.metadata["metrics"]["roc_auc"]
        > contract.metadata["metrics"]["baseline_roc_auc"] + 0.15
    )


def test_aggregates_count_only_orders_strictly_before_the_label():
    """Worked by hand: the label's own order, and another placed at the same moment, are
    never in its aggregates (no label leakage)."""
    from training.dataset import AGGREGATE_FEATURES, MODEL_FEATURES_WITH_AGGREGATES

    params = load_params()
    registered = customer_event("C1", age=25, active_since="2016-01-01T00:00:00.000Z")
    o1 = order_event("C1", "O1", "2021-01-01T00:00:00.000Z", is_reordered=False, amount=10.0)
    o2 = order_event("C1", "O2", "2021-02-01T00:00:00.000Z", is_reordered=True, amount=30.0)
    o3 = order_event("C1", "O3", "2021-03-01T00:00:00.000Z", is_reordered=True, amount=50.0)
    o4 = order_event("C1", "O4", "2021-03-01T00:00:00.000Z", is_reordered=False, amount=70.0)
    history = History([registered], [o4, o3, o2, o1])

    rows = build_training_rows(history, params, MODEL_FEATURES_WITH_AGGREGATES)

    names = [f.name for f in MODEL_FEATURES_WITH_AGGREGATES]
    assert [f.name for f in AGGREGATE_FEATURES] == names[-3:]
    by_order = {row.order_id: dict(zip(names, row.features, strict=True)) for row in rows}
    assert sorted(by_order) == ["O2", "O3", "O4"]
    assert by_order["O2"]["total_orders"] == 1  # O1 only
    assert by_order["O2"]["reorder_rate"] == 0.0
    for same_moment in ("O3", "O4"):  # O1 and O2; never O3 or O4 themselves
        features = by_order[same_moment]
        assert features["total_orders"] == 2
        assert features["reorder_rate"] == 0.5
        assert features["avg_purchase_amount_scaled"] == params.scaler("purchase_amount").scale(
            20.0
        )
