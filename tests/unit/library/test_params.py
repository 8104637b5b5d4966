"""The params artifact: loading, integrity checks, and that it matches raw/."""

import json
from pathlib import Path

import pytest

from featurestream.contract.params import (
    DEFAULT_PARAMS_PATH,
    SCALED_FEATURES,
    load_params,
    params_from_json,
)
from featurestream_cli.commands.fit import describe_input
from training.fit import fit_params
from training.history import History

ROOT = Path(__file__).resolve().parents[3]


def test_shipped_artifact_loads_with_every_scaler() -> None:
    params = load_params()
    assert set(SCALED_FEATURES) <= set(params.scalers)
    assert params.version.startswith("minmax-")


def test_an_edited_artifact_is_refused() -> None:
    document = json.loads(DEFAULT_PARAMS_PATH.read_text())
    document["scalers"]["purchase_amount"]["data_max"] = 500.0
    with pytest.raises(ValueError, match="does not match its content"):
        params_from_json(json.dumps(document))


def test_an_incomplete_artifact_is_refused() -> None:
    document = json.loads(DEFAULT_PARAMS_PATH.read_text())
    del document["scalers"]["n_days_active"]
    with pytest.raises(ValueError, match="no scaler for n_days_active"):
        params_from_json(json.dumps(document))
    with pytest.raises(ValueError, match="not a featurestream params artifact"):
        params_from_json("{}")


@pytest.mark.slow
def test_fit_reproduces_the_shipped_artifact(raw_history: History) -> None:
    """``make fit`` on the committed CSVs makes exactly the committed params.json."""
    raw = ROOT / "raw"
    params = fit_params(
        raw_history,
        as_of=raw_history.end,
        fitted_on={
            "customers": describe_input(raw / "customers.csv", len(raw_history.customers)),
            "orders": describe_input(raw / "orders.csv", len(raw_history.orders)),
        },
    )
    assert params.to_json() == DEFAULT_PARAMS_PATH.read_text()
