"""A broken params artifact is named with what is wrong, never with the value it holds."""

import json

import pytest

from featurestream.contract.params import params_from_json


def _document(**changes):
    document = {
        "version": "minmax-x",
        "fitted_as_of": "2021-12-31T00:00:00Z",
        "scalers": {"n_days_active": {"data_min": 0, "data_max": 10}},
    }
    document.update(changes)
    return json.dumps(document)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{not json", "params.json: not JSON (line 1, column 2)"),
        (
            json.dumps({"scalers": {}}),
            "params.json: not a featurestream params artifact (no 'fitted_as_of')",
        ),
        (
            _document(scalers={"n_days_active": {"data_min": "Jane Doe", "data_max": 1}}),
            "params.json: not a featurestream params artifact (a scaler bound, the fit time or "
            "the version is not of the right type)",
        ),
    ],
)
def test_a_broken_artifact_is_named_without_its_values(text, expected):
    with pytest.raises(ValueError) as raised:
        params_from_json(text, origin="params.json")
    assert str(raised.value) == expected
    assert "Jane" not in str(raised.value)
