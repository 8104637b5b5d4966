"""``featurestream transform`` and ``fit``: the batch commands, their output and their errors."""

import csv
from pathlib import Path

from click.testing import CliRunner

from featurestream.contract.catalog import ORDERS
from featurestream.contract.params import DEFAULT_PARAMS_PATH, load_params
from featurestream_cli.main import cli

ORDERS_CSV = (
    ",order_id,customer_id,product_id,purchase_amount,is_reordered,purchased_on,event_time\n"
    "0,O1,C1,P1,1.00,0,2021-01-01 00:00:00,2022-01-01T00:00:00.000Z\n"
    "1,O2,C2,P2,101.00,1,2021-01-11 00:00:00,2022-01-01T00:00:00.001Z\n"
    "2,O3,C3,P3,51.00,1,2021-01-21 00:00:00,2022-01-01T00:00:00.002Z\n"
)


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def read(path: Path) -> list[dict[str, str]]:
    with path.open() as handle:
        return list(csv.DictReader(handle))


def test_transform_fits_on_the_input_like_the_tutorial(tmp_path: Path) -> None:
    source = tmp_path / "orders.csv"
    source.write_text(ORDERS_CSV)
    out = tmp_path / "out.csv"
    code, _ = run("transform", "orders", str(source), "-o", str(out))
    assert code == 0
    rows = read(out)
    assert list(rows[0]) == list(ORDERS.feature_names)
    # fitted on the input, as of its newest event (2021-01-21): amounts 1..101, days 0..20
    assert [r["purchase_amount"] for r in rows] == ["0.0", "1.0", "0.5"]
    assert [r["n_days_since_last_purchase"] for r in rows] == ["1.0", "0.5", "0.0"]
    assert rows[2]["purchased_on"] == "2021-01-21T00:00:00.000Z"


def test_transform_with_params_applies_the_artifact(tmp_path: Path) -> None:
    source = tmp_path / "orders.csv"
    source.write_text(ORDERS_CSV)
    out = tmp_path / "out.csv"
    code, _ = run(
        "transform",
        "orders",
        str(source),
        "-o",
        str(out),
        "--params",
        str(DEFAULT_PARAMS_PATH),
        "--as-of",
        "2021-02-01",
    )
    assert code == 0
    params = load_params()
    rows = read(out)
    amount = params.scaler("purchase_amount")
    assert float(rows[1]["purchase_amount"]) == amount.scale(101.0)
    assert {r["transform_version"] for r in rows} == {params.version}


def test_bad_input_is_a_clear_error_without_traceback(tmp_path: Path) -> None:
    source = tmp_path / "orders.csv"
    source.write_text(ORDERS_CSV.replace("51.00", "fifty"))
    code, output = run("transform", "orders", str(source), "-o", str(tmp_path / "o.csv"))
    assert code == 1
    assert f"{source}:4: purchase_amount:" in output
    assert "Traceback" not in output
    code, output = run("transform", "orders", str(tmp_path / "absent.csv"), "-o", "x.csv")
    assert code == 1
    assert "cannot open" in output
    code, output = run("fit", "--as-of", "yesterday", "-o", str(tmp_path / "p.json"))
    assert code == 2
    assert "not an ISO-8601 timestamp" in output
