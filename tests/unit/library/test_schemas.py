"""The committed JSON Schemas are exactly what the models generate, and they work."""

import json
from pathlib import Path

import jsonschema
import pytest

from featurestream_cli.commands.schemas import DEFAULT_DIR, render_schemas
from tests.unit.library.test_events import customer, order

ROOT = Path(__file__).resolve().parents[3]


def test_committed_schemas_match_the_models() -> None:
    rendered = render_schemas()
    assert sorted(rendered) == ["customer-event.schema.json", "order-event.schema.json"]
    for name, text in rendered.items():
        committed = ROOT / DEFAULT_DIR / name
        assert committed.read_text() == text, f"{committed} is stale: run featurestream schemas"


def test_schemas_accept_valid_and_reject_invalid_events() -> None:
    schema = json.loads((ROOT / DEFAULT_DIR / "order-event.schema.json").read_text())
    jsonschema.validate(order(), schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(order(data={"purchase_amount": -1}), schema)
    customer_schema = json.loads((ROOT / DEFAULT_DIR / "customer-event.schema.json").read_text())
    jsonschema.validate(customer(), customer_schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(customer(data={"name": "x"}), customer_schema)
